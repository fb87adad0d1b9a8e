-- Issue 4, figure 1: throughput of a stateful job with checkpoints every
-- second. GROUP BY over 10 000 keys (COUNT/SUM/MAX), datagen -> blackhole.
-- `run` prints rows per CPU-second on stderr when the job ends, and one
-- line per checkpoint. The baseline is the same file without the
-- checkpoint line; other variants change the first two SETs (README.md):
--
--   streamsql run throughput.sql                                        # checkpoints every 1 s
--   sed '/checkpoint.interval.ms/d' throughput.sql | streamsql run -    # checkpoints off
--
-- 60 million rows last about 6 s with hashmap at parallelism 1 on the
-- reference machine (2 cores); use about 12 million rows for rocksdb.
SET 'state.backend' = 'hashmap';
SET 'parallelism.default' = '1';
SET 'checkpoint.interval.ms' = '1000';
SET 'checkpoint.dir' = 'checkpoints';
SET 'pipeline.name' = 'bench-throughput';

CREATE TABLE src (k BIGINT, v BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '60000000',
  'fields.k.min' = '0', 'fields.k.max' = '9999', 'fields.v.min' = '0', 'fields.v.max' = '1000');

CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT, m BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO sink SELECT k, COUNT(*), SUM(v), MAX(v) FROM src GROUP BY k;
