-- The issue's example: CSV in, JSON part files out, read back as a table.
CREATE TABLE orders (
  id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3),
  big AS amount > 10
) WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

CREATE TABLE big_orders (id BIGINT, customer STRING, eur DOUBLE)
  WITH ('connector' = 'filesystem', 'path' = 'out/', 'format' = 'json');

INSERT INTO big_orders SELECT id, UPPER(customer), CAST(amount AS DOUBLE) * 0.9
FROM orders WHERE amount > 5 AND customer IS NOT NULL;

SELECT * FROM big_orders;

SELECT customer, amount, big FROM orders WHERE ts > TIMESTAMP '2024-01-01 10:10:00';
