-- Bounded queries over a generated sequence: filters, projections, ORDER
-- BY (whose order the golden keeps) and NULL.
CREATE TABLE seq (id BIGINT) WITH (
  'connector' = 'datagen',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '6'
);

SELECT id, id * 10 AS tens FROM seq WHERE id > 3;

SELECT id FROM seq ORDER BY id DESC;

SELECT id, CASE WHEN id % 2 = 0 THEN 'even' END AS parity FROM seq;

SELECT 1 AS one, 'two' AS two, CAST(NULL AS INT) AS nothing, TRUE AS yes;

CREATE TABLE sink (id BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO sink SELECT id FROM seq;
