-- EXPLAIN shows the logical plan, the chained job graph and each job
-- setting with where its value came from.
CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3), big AS amount > 100)
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

CREATE TABLE out_t (id BIGINT, customer STRING) WITH ('connector' = 'blackhole', 'parallelism.default' = '1');

EXPLAIN SELECT id, UPPER(customer) FROM orders WHERE big;

EXPLAIN INSERT INTO out_t SELECT id, customer FROM orders;

SET 'parallelism.default' = '3';

EXPLAIN SELECT id FROM orders ORDER BY id LIMIT 2;

EXPLAIN PLAN FOR SELECT id FROM orders UNION ALL SELECT id FROM orders;
