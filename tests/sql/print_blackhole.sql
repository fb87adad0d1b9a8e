-- print writes Flink-style +I[...] rows; blackhole swallows everything.
CREATE TABLE src (id BIGINT, name STRING) WITH (
  'connector' = 'datagen', 'number-of-rows' = '3',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3', 'fields.name.length' = '2');

CREATE TABLE p (id BIGINT, label STRING, nothing INT) WITH ('connector' = 'print');

INSERT INTO p SELECT id, CASE WHEN id = 2 THEN NULL ELSE 'row' END, CAST(NULL AS INT) FROM src;

CREATE TABLE p2 (id BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'dbg');

SET 'parallelism.default' = '2';

INSERT INTO p2 SELECT id FROM src;

CREATE TABLE bh (id BIGINT, name STRING) WITH ('connector' = 'blackhole');

INSERT INTO bh SELECT * FROM src;

CREATE TABLE bh_bad (id BIGINT) WITH ('connector' = 'blackhole', 'x' = 'y');

SELECT * FROM bh;
