-- The filesystem connector with CSV: read, write part files, read back.
CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

CREATE TABLE copy_t (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'out/copy', 'format' = 'csv');

INSERT INTO copy_t SELECT * FROM orders;

SELECT * FROM copy_t;

SET 'parallelism.default' = '2';

CREATE TABLE copy2 (id BIGINT, customer STRING) WITH ('connector' = 'filesystem', 'path' = 'out/copy2', 'format' = 'csv');

INSERT INTO copy2 SELECT id, customer FROM orders;

SELECT * FROM copy2;
