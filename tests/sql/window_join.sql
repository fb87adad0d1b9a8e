-- Window joins: both inputs windowed by equal event-time windows and the
-- condition equating window_start and window_end plan a WindowJoin, which
-- emits each window's final rows once the watermark passes its end
-- (insert-only, outer sides padded without retraction) and frees the
-- window. l and r are two 10 s tumbling windows of rows; id NULL never
-- matches.
CREATE TABLE l (id INT, v STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'window_join.l.csv', 'format' = 'csv');

CREATE TABLE r (id INT, w INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'window_join.r.csv', 'format' = 'csv');

CREATE VIEW lw AS SELECT * FROM TABLE(TUMBLE(TABLE l, DESCRIPTOR(ts), INTERVAL '10' SECOND));

CREATE VIEW rw AS SELECT * FROM TABLE(TUMBLE(TABLE r, DESCRIPTOR(ts), INTERVAL '10' SECOND));

EXPLAIN SELECT L.id, L.v, R.w, L.window_start, L.window_end
FROM lw L LEFT JOIN rw R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

SELECT L.id, L.v, R.w, L.window_start, L.window_end
FROM lw L JOIN rw R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

SELECT L.id, L.v, R.w, L.window_start, L.window_end
FROM lw L LEFT JOIN rw R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

-- The window columns in the other order, and a residual condition.
SELECT L.v, R.id, R.w, R.window_start
FROM lw L RIGHT JOIN rw R
ON R.window_end = L.window_end AND L.id = R.id AND R.window_start = L.window_start AND R.w > 100;

SELECT L.id, L.v, R.id AS rid, R.w, COALESCE(L.window_start, R.window_start) AS ws
FROM lw L FULL JOIN rw R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

-- Insert-only, so a filesystem sink takes an outer window join.
CREATE TABLE joined (id INT, v STRING, w INT, ws TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'out/joined', 'format' = 'csv');

INSERT INTO joined
SELECT L.id, L.v, R.w, L.window_start
FROM lw L LEFT JOIN rw R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

SELECT * FROM joined;

-- No equality besides the windows: every pair of a window (the job is
-- still partitioned, by window_end).
EXPLAIN SELECT L.v, R.w FROM lw L JOIN rw R ON L.window_start = R.window_start AND L.window_end = R.window_end;

SELECT L.v, R.w, L.window_start FROM lw L JOIN rw R ON L.window_start = R.window_start AND L.window_end = R.window_end AND L.v < 'c';

-- HOP: a row is in two windows, each joined on its own.
SELECT L.v, R.w, L.window_start, L.window_end
FROM (SELECT * FROM TABLE(HOP(TABLE l, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))) L
JOIN (SELECT * FROM TABLE(HOP(TABLE r, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))) R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

-- Window aggregations carry their windows (Nexmark q8).
SELECT A.id, A.n, B.total, A.window_start
FROM (SELECT id, COUNT(*) AS n, window_start, window_end FROM lw GROUP BY id, window_start, window_end) A
LEFT JOIN (SELECT id, SUM(w) AS total, window_start, window_end FROM rw GROUP BY id, window_start, window_end) B
ON A.id = B.id AND A.window_start = B.window_start AND A.window_end = B.window_end;

-- Windows of another size are not a window join: a regular join, which
-- compares the columns as they are.
EXPLAIN SELECT L.v, R.w
FROM lw L
JOIN (SELECT * FROM TABLE(TUMBLE(TABLE r, DESCRIPTOR(ts), INTERVAL '20' SECOND))) R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

SET 'state.backend' = 'rocksdb';

SET 'parallelism.default' = '2';

SELECT L.id, L.v, R.w, L.window_start, L.window_end
FROM lw L JOIN rw R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

SELECT L.id, L.v, R.w, L.window_start, L.window_end
FROM lw L LEFT JOIN rw R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

SELECT L.id, L.v, R.id AS rid, R.w, COALESCE(L.window_start, R.window_start) AS ws
FROM lw L FULL JOIN rw R
ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;

RESET 'parallelism.default';

RESET 'state.backend';

-- Processing-time windows: Flink refuses a window join over them.
CREATE TABLE ticks (id INT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'number-of-rows' = '10');

SELECT A.id FROM (SELECT * FROM TABLE(TUMBLE(TABLE ticks, DESCRIPTOR(pt), INTERVAL '1' SECOND))) A
JOIN (SELECT * FROM TABLE(TUMBLE(TABLE ticks, DESCRIPTOR(pt), INTERVAL '1' SECOND))) B
ON A.id = B.id AND A.window_start = B.window_start AND A.window_end = B.window_end;
