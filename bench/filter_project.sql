-- The foundation's throughput benchmark: datagen -> filter + projection on
-- four numeric columns -> blackhole, one chained task. `run` prints rows/s
-- and rows per CPU-second (per core) on stderr when the job ends.
CREATE TABLE src (a BIGINT, b BIGINT, c BIGINT, d DOUBLE) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '50000000',
  'fields.a.min' = '0', 'fields.a.max' = '1000',
  'fields.b.min' = '0', 'fields.b.max' = '1000',
  'fields.c.min' = '0', 'fields.c.max' = '1000',
  'fields.d.min' = '0', 'fields.d.max' = '1');

CREATE TABLE sink (ab BIGINT, c2 BIGINT, d2 DOUBLE, b BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO sink SELECT a + b, c * 2, d * 0.9 + 1, b FROM src WHERE a > 100 AND d < 0.5;
