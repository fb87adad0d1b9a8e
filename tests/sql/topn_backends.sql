-- Top-N and deduplication give the same changelog on both state backends:
-- with 'rocksdb' each partition lives in pebble (its first rows in one
-- value, the others in a map ordered by the ORDER BY values), loaded when a
-- batch touches it. Mini-batches of 1 row show every step.
SET 'table.exec.mini-batch.size' = '1';

CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

CREATE TABLE clicks (usr STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv');

SET 'state.backend' = 'hashmap';

-- Insert-only input: only the top 2 are kept (NULL amounts rank last).
SELECT * FROM (
  SELECT id, customer, amount, ROW_NUMBER() OVER (ORDER BY amount DESC) AS rn FROM orders
) WHERE rn <= 2;

-- Updating input: the counts retract their previous values.
SELECT * FROM (
  SELECT usr, n, ROW_NUMBER() OVER (ORDER BY n DESC) AS rn
  FROM (SELECT usr, COUNT(*) AS n FROM clicks GROUP BY usr)
) WHERE rn <= 2;

-- Deduplication: the last and the first click per user.
SELECT usr, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY usr ORDER BY ts DESC) AS rn FROM clicks
) WHERE rn = 1;

SELECT usr, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY usr ORDER BY ts ASC) AS rn FROM clicks
) WHERE rn = 1;

-- Window Top-N over window aggregates.
SELECT * FROM (
  SELECT window_start, usr, n, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY n DESC) AS rn
  FROM (SELECT window_start, window_end, usr, COUNT(*) AS n
        FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
        GROUP BY window_start, window_end, usr)
) WHERE rn <= 1;

SET 'state.backend' = 'rocksdb';

SELECT * FROM (
  SELECT id, customer, amount, ROW_NUMBER() OVER (ORDER BY amount DESC) AS rn FROM orders
) WHERE rn <= 2;

SELECT * FROM (
  SELECT usr, n, ROW_NUMBER() OVER (ORDER BY n DESC) AS rn
  FROM (SELECT usr, COUNT(*) AS n FROM clicks GROUP BY usr)
) WHERE rn <= 2;

SELECT usr, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY usr ORDER BY ts DESC) AS rn FROM clicks
) WHERE rn = 1;

SELECT usr, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY usr ORDER BY ts ASC) AS rn FROM clicks
) WHERE rn = 1;

SELECT * FROM (
  SELECT window_start, usr, n, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY n DESC) AS rn
  FROM (SELECT window_start, window_end, usr, COUNT(*) AS n
        FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
        GROUP BY window_start, window_end, usr)
) WHERE rn <= 1;

-- Partitions spread over two subtasks by key group.
SET 'parallelism.default' = '2';

SELECT usr, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY usr ORDER BY ts DESC) AS rn FROM clicks
) WHERE rn = 1;
