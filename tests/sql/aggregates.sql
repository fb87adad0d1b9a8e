-- GROUP BY aggregation: every aggregate, FILTER, HAVING, DISTINCT, global
-- aggregates, expressions as keys; results as changelogs.
CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

SELECT customer, COUNT(*) AS n, COUNT(amount) AS n_amount, SUM(amount) AS total,
       AVG(amount) AS mean, MIN(amount) AS lo, MAX(amount) AS hi
FROM orders GROUP BY customer;

SELECT COUNT(*), COUNT(DISTINCT customer), SUM(id) FILTER (WHERE id > 2), AVG(id), MAX(ts) FROM orders;

SELECT DISTINCT customer FROM orders WHERE id < 4;

SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer HAVING SUM(amount) > 10;

SELECT id % 2 AS parity, COUNT(*) FROM orders GROUP BY id % 2;

SELECT UPPER(customer), COUNT(*) FROM orders GROUP BY UPPER(customer);

SELECT AVG(CAST(id AS DOUBLE)), AVG(CAST(id AS INT)), SUM(CAST(id AS INT)) FROM orders;

CREATE TABLE files (customer STRING, n BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out/agg', 'format' = 'csv');

INSERT INTO files SELECT customer, COUNT(*) FROM orders GROUP BY customer;

CREATE TABLE printed (customer STRING, n BIGINT) WITH ('connector' = 'print');

INSERT INTO printed SELECT customer, COUNT(*) FROM orders GROUP BY customer;
