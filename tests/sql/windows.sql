-- Event time and window table functions. Watermarks follow each row
-- ('scan.watermark.emit.strategy' = 'on-event'), so the rows of windows
-- that already fired (bob at 10:00:03 and 10:00:02) are late: dropped and
-- counted. Window aggregates emit final, insert-only rows.
CREATE TABLE clicks (usr STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv',
        'scan.watermark.emit.strategy' = 'on-event');

SELECT usr, ts, window_start, window_end, window_time
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND));

SELECT window_start, window_end, usr, COUNT(*) AS n, MAX(ts) AS last_click
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, usr;

SELECT window_start, window_end, COUNT(*) AS n
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
GROUP BY window_start, window_end;

SELECT window_start, window_end, COUNT(*) AS n, COUNT(DISTINCT usr) AS users
FROM TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '20' SECOND))
GROUP BY window_start, window_end;

CREATE TABLE per_window (window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT)
  WITH ('connector' = 'filesystem', 'path' = 'out/windows', 'format' = 'csv');

INSERT INTO per_window
SELECT window_start, window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;

SELECT * FROM per_window;

SET 'parallelism.default' = '2';

-- At parallelism 2 whether a row is late depends on when the idle second
-- source subtask ends, so the two late rows are filtered out here.
SELECT window_start, usr, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE NOT (usr = 'bob' AND ts < TIMESTAMP '2024-01-01 10:00:04')
GROUP BY window_start, window_end, usr;

RESET 'parallelism.default';

CREATE TABLE no_wm (usr STRING, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv');

SELECT * FROM TABLE(TUMBLE(TABLE no_wm, DESCRIPTOR(ts), INTERVAL '10' SECOND));

SELECT * FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '3' SECOND, INTERVAL '10' SECOND));

SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(usr), INTERVAL '10' SECOND));

-- SESSION windows: a key's rows closer than the gap form one session.
-- With per-row watermarks, bob's rows at 10:00:03 and 10:00:02 are late.
SELECT window_start, window_end, usr, COUNT(*) AS n, MIN(ts) AS first_click
FROM TABLE(SESSION(TABLE clicks PARTITION BY usr, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY window_start, window_end, usr;

SELECT window_start, window_end, COUNT(*) AS n
FROM TABLE(SESSION(TABLE clicks, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY window_start, window_end;

CREATE TABLE clicks_batch (usr STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv');

-- One watermark after the whole file: nothing is late, bob's three rows
-- merge into one session.
SELECT window_start, window_end, usr, COUNT(*) AS n
FROM TABLE(SESSION(TABLE clicks_batch PARTITION BY usr, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY window_start, window_end, usr;

SELECT * FROM TABLE(SESSION(TABLE clicks PARTITION BY usr, DESCRIPTOR(ts), INTERVAL '5' SECOND));

SELECT window_start, window_end, COUNT(*) FROM TABLE(SESSION(TABLE clicks PARTITION BY usr, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY window_start, window_end;

-- An idle split stops holding the watermark back after the timeout.
CREATE TABLE idle (ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen', 'scan.watermark.idle-timeout' = '5 s');

EXPLAIN SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE idle, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;

CREATE TABLE idle_bad (ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen', 'scan.watermark.idle-timeout' = 'soon');

-- Windows over PROCTIME() follow the wall clock (results depend on it, so
-- only the plan and the errors are shown here).
CREATE TABLE ticks (k INT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'number-of-rows' = '10');

EXPLAIN SELECT window_start, k, COUNT(*) FROM TABLE(TUMBLE(TABLE ticks, DESCRIPTOR(pt), INTERVAL '1' SECOND)) GROUP BY window_start, window_end, k;

SELECT COUNT(*) FROM TABLE(SESSION(TABLE ticks PARTITION BY k, DESCRIPTOR(pt), INTERVAL '1' SECOND)) GROUP BY window_start, window_end, k;
