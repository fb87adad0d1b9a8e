-- SESSION windows over PROCTIME(): a key's session ends a gap after its
-- last row's processing time and fires on a timer once that end is 200 ms
-- past. This input is bounded and read well within the gap, so each key's
-- rows form one session, fired at the end of the input: the result does
-- not depend on timing (window bounds are wall-clock times, so only their
-- distance is shown).
CREATE TABLE clicks (who STRING, ts TIMESTAMP(3), pt AS PROCTIME())
  WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv');

EXPLAIN SELECT who, COUNT(*) AS n FROM TABLE(SESSION(TABLE clicks PARTITION BY who, DESCRIPTOR(pt), INTERVAL '1' HOUR))
GROUP BY window_start, window_end, who;

SELECT who, COUNT(*) AS n, MIN(ts) AS first_click, MAX(ts) AS last_click,
  window_end >= window_start + INTERVAL '1' HOUR AS spans_gap
FROM TABLE(SESSION(TABLE clicks PARTITION BY who, DESCRIPTOR(pt), INTERVAL '1' HOUR))
GROUP BY window_start, window_end, who ORDER BY who;

-- The same on rocksdb, at parallelism 2 (sessions routed by who).
SET 'state.backend' = 'rocksdb';
SET 'parallelism.default' = '2';

SELECT who, COUNT(*) AS n, MIN(ts) AS first_click, MAX(ts) AS last_click,
  window_end >= window_start + INTERVAL '1' HOUR AS spans_gap
FROM TABLE(SESSION(TABLE clicks PARTITION BY who, DESCRIPTOR(pt), INTERVAL '1' HOUR))
GROUP BY window_start, window_end, who ORDER BY who;

-- Without PARTITION BY: one session of every row, in one subtask.
SELECT COUNT(*) AS n, COUNT(DISTINCT who) AS people
FROM TABLE(SESSION(TABLE clicks, DESCRIPTOR(pt), INTERVAL '1' HOUR))
GROUP BY window_start, window_end;
