-- Regular joins over changelogs: equi-keys partition both inputs, other
-- conditions filter joined rows; outer joins pad with NULLs and retract the
-- padding when a match arrives (mini-batch size 1 shows every change).
SET 'table.exec.mini-batch.size' = '1';

CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/orders.csv', 'format' = 'csv');

CREATE TABLE people (id BIGINT, name STRING, age INT, score DOUBLE, active BOOLEAN, born DATE, seen TIMESTAMP(3), weight DECIMAL(5, 1))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/people.json', 'format' = 'json');

SELECT o.id, o.customer, p.name, p.age FROM orders AS o JOIN people AS p ON o.id = p.id;

SELECT o.id, p.name FROM orders o LEFT JOIN people p ON o.id = p.id AND p.age > 30;

SELECT p.name, o.id FROM orders o RIGHT JOIN people p ON o.id = p.id + 1;

SELECT o.id, p.name FROM orders o FULL OUTER JOIN people p ON o.id = p.id + 3;

-- A join of aggregates consumes their retractions.
SELECT c.customer, c.n, p.name
FROM (SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer) AS c
JOIN people AS p ON c.n = p.id;

EXPLAIN SELECT o.id, p.name FROM orders o JOIN people p ON o.id = p.id WHERE o.amount > 5;

CREATE TABLE out_csv (id BIGINT, name STRING) WITH ('connector' = 'filesystem', 'path' = 'out/j', 'format' = 'csv');

INSERT INTO out_csv SELECT o.id, p.name FROM orders o JOIN people p ON o.id = p.id;

INSERT INTO out_csv SELECT o.id, p.name FROM orders o LEFT JOIN people p ON o.id = p.id;

SELECT * FROM out_csv;

SET 'parallelism.default' = '3';

SELECT o.customer, COUNT(*) AS n FROM orders o JOIN people p ON o.id = p.id GROUP BY o.customer;

SELECT * FROM orders o JOIN people p USING (id);

RESET 'parallelism.default';

-- An interval condition runs as a regular join with a residual filter
-- (correct results; state behind the watermark is not freed yet).
SELECT a.id, b.id AS later_id FROM orders a JOIN orders b
ON a.customer = b.customer AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '30' MINUTE AND a.id <> b.id;

-- With event time on both sides, the same kind of condition is an interval
-- join: state is freed once the watermark passes what a row can still meet.
CREATE TABLE clicks (usr STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv');

SELECT a.usr, a.ts, b.ts AS later FROM clicks a JOIN clicks b
ON a.usr = b.usr AND a.ts BETWEEN b.ts - INTERVAL '5' SECOND AND b.ts AND a.ts <> b.ts;

EXPLAIN SELECT a.usr FROM clicks a JOIN clicks b ON a.usr = b.usr AND a.ts BETWEEN b.ts - INTERVAL '5' SECOND AND b.ts;

-- The comma form with the conditions in WHERE is the same join: the
-- conditions that relate both tables go into the join (keys, interval),
-- the one over a single table stays a filter.
SELECT a.usr, a.ts, b.ts AS later FROM clicks a, clicks b
WHERE a.usr = b.usr AND a.ts BETWEEN b.ts - INTERVAL '5' SECOND AND b.ts AND a.ts <> b.ts;

EXPLAIN SELECT a.usr FROM clicks a, clicks b, clicks c
WHERE a.usr = b.usr AND b.usr = c.usr AND a.ts BETWEEN b.ts - INTERVAL '5' SECOND AND b.ts AND c.usr <> 'bob';
