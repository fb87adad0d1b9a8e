-- Flink DDL: computed columns, watermarks, primary keys, comments.
CREATE TABLE events (
  id BIGINT COMMENT 'event id',
  user_name STRING,
  amount DECIMAL(10, 2),
  ts TIMESTAMP(3),
  amount_x2 AS amount * 2,
  day_str AS DATE_FORMAT(ts, 'yyyy-MM-dd'),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND,
  PRIMARY KEY (id) NOT ENFORCED
) COMMENT 'all events' WITH ('connector' = 'blackhole');

DESCRIBE events;

CREATE TABLE IF NOT EXISTS events (x INT) WITH ('connector' = 'blackhole');

CREATE TABLE w1 (ts BIGINT, WATERMARK FOR ts AS ts - 5) WITH ('connector' = 'blackhole');

CREATE TABLE w2 (ts TIMESTAMP(3), WATERMARK FOR nope AS ts) WITH ('connector' = 'blackhole');

CREATE TABLE w3 (ts TIMESTAMP(3), WATERMARK FOR ts AS 1) WITH ('connector' = 'blackhole');

CREATE TABLE pk (id BIGINT, PRIMARY KEY (id)) WITH ('connector' = 'blackhole');

CREATE TABLE ltz (ts TIMESTAMP_LTZ(3), t2 TIMESTAMP(3) WITH LOCAL TIME ZONE, d DATE, v VARCHAR, c CHAR(3)) WITH ('connector' = 'blackhole');

DESCRIBE ltz;

CREATE TABLE with_pt (id BIGINT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'number-of-rows' = '2', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '2');

DESCRIBE with_pt;

SELECT id, pt IS NOT NULL AS has_time, pt > TO_TIMESTAMP_LTZ(1700000000, 0) AS recent FROM with_pt;
