-- The same aggregations on both state backends give the same changelog.
CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

SET 'table.exec.mini-batch.size' = '2';

SET 'state.backend' = 'hashmap';

SELECT customer, COUNT(*) AS n, SUM(amount) AS total, MIN(amount) AS lo, COUNT(DISTINCT id % 2) AS parities
FROM orders GROUP BY customer;

SELECT n, COUNT(*) AS customers, MAX(customer) AS last_customer
FROM (SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer) GROUP BY n;

SET 'state.backend' = 'rocksdb';

SELECT customer, COUNT(*) AS n, SUM(amount) AS total, MIN(amount) AS lo, COUNT(DISTINCT id % 2) AS parities
FROM orders GROUP BY customer;

SELECT n, COUNT(*) AS customers, MAX(customer) AS last_customer
FROM (SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer) GROUP BY n;

SET 'parallelism.default' = '2';

SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer;

SET 'state.backend' = 'leveldb';

CREATE TABLE ev (who STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv');

SELECT window_start, who, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, who;

-- Window aggregation keeps its state in pebble too: the same results as
-- with hashmap (the state is in the rocksdb backend since the SET above).
SELECT window_start, window_end, COUNT(*) AS n, MAX(ts) AS last_ts FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end;

SET 'state.backend' = 'hashmap';

SELECT window_start, window_end, COUNT(*) AS n, MAX(ts) AS last_ts FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end;

SELECT window_start, who, COUNT(*) FROM TABLE(SESSION(TABLE ev PARTITION BY who, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, who;

SET 'state.backend' = 'rocksdb';

-- SESSION windows keep a key's sessions in pebble: the same sessions as
-- with hashmap just above (at parallelism 2, routed by who).
SELECT window_start, who, COUNT(*) FROM TABLE(SESSION(TABLE ev PARTITION BY who, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, who;

-- Joins and Top-N keep their state in pebble too (no warning).
SELECT a.who, COUNT(*) AS pairs FROM ev a JOIN ev b ON a.who = b.who GROUP BY a.who;

-- A bounded ORDER BY still sorts in memory on rocksdb, and says so.
SELECT who, ts FROM ev ORDER BY ts DESC, who LIMIT 2;
