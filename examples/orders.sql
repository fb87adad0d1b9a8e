-- Filter a CSV file into JSON part files, then read them back.
-- Run from the repository root: streamsql run examples/orders.sql
CREATE TABLE orders (
  id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3),
  big AS amount > 100            -- computed column
) WITH ('connector' = 'filesystem', 'path' = 'examples/orders.csv', 'format' = 'csv');

CREATE TABLE big_orders (id BIGINT, customer STRING, eur DOUBLE)
  WITH ('connector' = 'filesystem', 'path' = 'examples/out/big_orders', 'format' = 'json');

INSERT INTO big_orders SELECT id, UPPER(customer), CAST(amount AS DOUBLE) * 0.9
FROM orders WHERE amount > 100 AND customer IS NOT NULL;

SELECT customer, amount FROM orders WHERE ts > TIMESTAMP '2024-01-01 00:00:00';
