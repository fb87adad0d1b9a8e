-- With 'table.exec.mini-batch.size' = '1' an aggregate emits after every
-- row, as Flink does without mini-batches: the full changelog shows
-- -U/+U pairs, and an aggregate over an aggregate consumes retractions.
SET 'table.exec.mini-batch.size' = '1';

CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

CREATE TABLE p (customer STRING, n BIGINT, lo DECIMAL(10, 2)) WITH ('connector' = 'print');

INSERT INTO p SELECT customer, COUNT(*), MIN(amount) FROM orders GROUP BY customer;

SELECT n, COUNT(*) AS customers, MIN(customer) AS first_customer
FROM (SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer)
GROUP BY n;

SELECT COUNT(*) AS n FROM orders;

SELECT DISTINCT n FROM (SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer);

SET 'parallelism.default' = '3';

SELECT customer, COUNT(*) AS n, SUM(amount) AS total FROM orders GROUP BY customer;

SELECT n, COUNT(*) AS customers FROM (SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer) GROUP BY n;
