-- Parallel execution: results are the same at any parallelism (unordered
-- results are sorted by the test runner).
SET 'parallelism.default' = '4';

CREATE TABLE seq (id BIGINT, v DOUBLE) WITH (
  'connector' = 'datagen', 'number-of-rows' = '20',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '20',
  'fields.v.min' = '0', 'fields.v.max' = '1');

SELECT id FROM seq WHERE id % 5 = 0;

SELECT id FROM seq ORDER BY id DESC LIMIT 3;

CREATE TABLE files (id BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out/par', 'format' = 'csv');

INSERT INTO files SELECT id FROM seq WHERE id <= 10;

SELECT * FROM files;
