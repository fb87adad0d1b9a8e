-- ORDER BY, LIMIT, OFFSET and UNION ALL over bounded inputs.
CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

SELECT customer, amount FROM orders ORDER BY amount DESC, customer;

SELECT id FROM orders ORDER BY 1 DESC LIMIT 2;

SELECT id, customer FROM orders ORDER BY customer, id LIMIT 2 OFFSET 1;

SELECT id FROM orders LIMIT 3;

SELECT id, 'a' AS src FROM orders WHERE id < 3
UNION ALL
SELECT id, 'b' AS src FROM orders WHERE id > 3;

SELECT id FROM orders UNION ALL SELECT customer FROM orders;

SELECT id FROM orders ORDER BY UPPER(customer);

SELECT id FROM orders WHERE id = 1 UNION ALL SELECT 2.5 UNION ALL SELECT CAST(7 AS INT);
