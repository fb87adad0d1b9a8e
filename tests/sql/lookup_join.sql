-- Processing-time lookup joins (JOIN t FOR SYSTEM_TIME AS OF a PROCTIME()
-- column): each order looks up the rows of rates whose key equals its own,
-- as rates is when the order arrives. rates is read whole into memory by
-- each subtask (reloaded after 'lookup.join.cache.ttl'); key 2 has two
-- rows, one rate has a NULL key (never matched); order 103 has a NULL key.
CREATE TABLE orders (id BIGINT, k BIGINT, tag STRING, p AS PROCTIME())
  WITH ('connector' = 'filesystem', 'path' = 'lookup_join.orders.csv', 'format' = 'csv');

CREATE TABLE rates (k BIGINT, name STRING, rate INT)
  WITH ('connector' = 'filesystem', 'path' = 'lookup_join.rates.csv', 'format' = 'csv',
        'lookup.join.cache.ttl' = '10 min');

EXPLAIN SELECT o.id, r.name, r.rate
FROM orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.p AS r ON o.k = r.k;

SELECT o.id, r.name, r.rate
FROM orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.p AS r ON o.k = r.k;

-- LEFT: orders without a rate are padded with NULLs.
SELECT o.id, o.k, r.name, r.rate
FROM orders o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.p r ON o.k = r.k;

-- A key expression on the probe side (as Nexmark q13) and a residual
-- condition over both sides; the table name as qualifier.
EXPLAIN SELECT o.id, rates.name
FROM orders o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.p
ON MOD(o.k, 10) = rates.k AND rates.rate > o.id - 100 + 15;

SELECT o.id, rates.name
FROM orders o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.p
ON MOD(o.k, 10) = rates.k AND rates.rate > o.id - 100 + 15;

-- The q13 form: PROCTIME() in a subquery; the key compared as INT.
SELECT B.id, B.tag, S.name
FROM (SELECT id, CAST(k AS INT) AS k, tag, PROCTIME() AS p_time FROM orders) B
JOIN rates FOR SYSTEM_TIME AS OF B.p_time AS S
ON B.k = S.k
WHERE S.rate >= 20;

-- Insert-only, so a filesystem sink takes it; and in parallel.
SET 'parallelism.default' = '2';

CREATE TABLE enriched (id BIGINT, name STRING)
  WITH ('connector' = 'filesystem', 'path' = 'out/enriched', 'format' = 'csv');

INSERT INTO enriched
SELECT o.id, r.name FROM orders o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.p AS r ON o.k = r.k;

SELECT * FROM enriched;

RESET 'parallelism.default';

-- Errors.
CREATE TABLE bad_ttl (k BIGINT) WITH ('connector' = 'filesystem', 'path' = 'x.csv', 'format' = 'csv',
  'lookup.join.cache.ttl' = 'soon');

CREATE TABLE bad_ttl (k BIGINT) WITH ('connector' = 'filesystem', 'path' = 'x.csv', 'format' = 'csv',
  'lookup.cache.ttl' = '0 s');

CREATE TABLE clicks (id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'datagen', 'number-of-rows' = '5');

SELECT c.id, r.name FROM clicks c JOIN rates FOR SYSTEM_TIME AS OF c.ts AS r ON c.id = r.k;

SELECT o.id, r.name FROM orders o JOIN rates FOR SYSTEM_TIME AS OF o.id AS r ON o.k = r.k;

SELECT o.id, r.name FROM orders o JOIN rates FOR SYSTEM_TIME AS OF o.p AS r ON o.tag = r.name || 'x' OR o.k = r.k;

CREATE TABLE endless (k BIGINT, v STRING) WITH ('connector' = 'datagen');

SELECT o.id, e.v FROM orders o JOIN endless FOR SYSTEM_TIME AS OF o.p AS e ON o.k = e.k;

CREATE VIEW rates_view AS SELECT * FROM rates;

SELECT o.id, v.name FROM orders o JOIN rates_view FOR SYSTEM_TIME AS OF o.p AS v ON o.k = v.k;

SELECT o.k, r.name FROM (SELECT k, COUNT(*) AS n, PROCTIME() AS p FROM orders GROUP BY k) o
JOIN rates FOR SYSTEM_TIME AS OF o.p AS r ON o.k = r.k;

SELECT o.id, r.name FROM orders o RIGHT JOIN rates FOR SYSTEM_TIME AS OF o.p AS r ON o.k = r.k;
