-- Top-N and deduplication: ROW_NUMBER() OVER (...) filtered by rn. With
-- 'table.exec.mini-batch.size' = '1' every row's effect on the ranking is
-- shown: -U/+U per position when rn is selected, +I/-D otherwise.
SET 'table.exec.mini-batch.size' = '1';

CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

SELECT * FROM (
  SELECT id, customer, amount, ROW_NUMBER() OVER (ORDER BY amount DESC) AS rn FROM orders
) WHERE rn <= 2;

SELECT id, amount FROM (
  SELECT *, ROW_NUMBER() OVER (ORDER BY amount DESC) AS rn FROM orders
) WHERE rn < 3;

-- Deduplication: keep the last row per customer.
SELECT id, customer, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY ts DESC) AS rn FROM orders
) WHERE rn = 1;

-- Keep the first row per customer.
SELECT id, customer FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY ts ASC) AS rn FROM orders
) WHERE rn = 1;

-- Window Top-N over window aggregates.
CREATE TABLE clicks (usr STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv');

SELECT * FROM (
  SELECT window_start, usr, n, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY n DESC) AS rn
  FROM (SELECT window_start, window_end, usr, COUNT(*) AS n
        FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
        GROUP BY window_start, window_end, usr)
) WHERE rn <= 1;

SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM orders;

SELECT id, RANK() OVER (ORDER BY id) AS r FROM orders;

SELECT * FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id + 1) AS rn FROM orders) WHERE rn <= 1;
