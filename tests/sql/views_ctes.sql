-- Views, CTEs and subqueries in FROM.
CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

CREATE VIEW alice_orders AS SELECT id, amount FROM orders WHERE customer = 'alice';

SELECT * FROM alice_orders;

CREATE VIEW renamed (order_id, total) AS SELECT id, amount FROM orders;

DESCRIBE renamed;

SELECT order_id FROM renamed WHERE total > 10;

SHOW VIEWS;

WITH cheap AS (SELECT id, amount FROM orders WHERE amount < 10)
SELECT id, amount * 100 AS cents FROM cheap;

SELECT o.id, o.twice FROM (SELECT id, amount * 2 AS twice FROM orders) AS o WHERE o.twice > 20;

DROP TABLE alice_orders;

DROP VIEW IF EXISTS no_such_view;

DROP VIEW no_such_view;

CREATE VIEW IF NOT EXISTS alice_orders AS SELECT 1;
