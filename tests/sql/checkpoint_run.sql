-- Jobs with checkpointing on: results are the same as without, the
-- filesystem sink commits part files at checkpoints and at the end, and
-- settings mistakes are refused before anything runs.
CREATE TABLE seq (k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20000',
  'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '3000',
  'fields.k.min' = '1', 'fields.k.max' = '4', 'checkpoint.interval.ms' = '50');

CREATE TABLE evens (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out/evens', 'format' = 'csv');

SET 'parallelism.default' = '2';

INSERT INTO evens SELECT k, v FROM seq WHERE v % 2 = 0;

SELECT COUNT(*) AS n, COUNT(DISTINCT v) AS distinct_v, MIN(v) AS lo, MAX(v) AS hi FROM evens;

-- Window aggregation behind a keyed exchange, checkpointed.
CREATE TABLE clicks (u STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'testdata/clicks.csv', 'format' = 'csv',
        'checkpoint.interval.ms' = '20');

CREATE TABLE per_window (u STRING, ws TIMESTAMP(3), n BIGINT)
  WITH ('connector' = 'filesystem', 'path' = 'out/per_window', 'format' = 'csv');

INSERT INTO per_window SELECT u, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY u, window_start, window_end;

SELECT * FROM per_window ORDER BY ws, u;

-- Two INSERTs as one job sharing the source.
CREATE TABLE odds (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out/odds', 'format' = 'csv');

CREATE TABLE small (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out/small', 'format' = 'csv');

EXECUTE STATEMENT SET BEGIN
  INSERT INTO odds SELECT k, v FROM seq WHERE v % 2 = 1;
  INSERT INTO small SELECT k, v FROM seq WHERE v <= 10;
END;

SELECT COUNT(*) AS n, MIN(v) AS lo, MAX(v) AS hi FROM odds;

SELECT * FROM small ORDER BY v;

-- Mistakes.
SET 'checkpoint.mode' = 'at-least-once';

SET 'checkpoint.unaligned' = 'true';

INSERT INTO evens SELECT k, v FROM seq;

RESET;

STOP JOB 'nope';

SHOW CHECKPOINTS FOR JOB 'nope';

-- A table read twice in one job: the scan is shared (sub-plan reuse) and
-- each rocksdb aggregate keeps its own state and checkpoint directory.
SET 'parallelism.default' = '1';

SET 'state.backend' = 'rocksdb';

CREATE TABLE kstats (k BIGINT, n BIGINT, s BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out/kstats', 'format' = 'debezium-json');

INSERT INTO kstats SELECT a.k, a.n, b.s FROM (SELECT k, COUNT(*) AS n FROM seq GROUP BY k) a JOIN (SELECT k, SUM(k) AS s FROM seq GROUP BY k) b ON a.k = b.k;

SELECT SUM(n) AS n, SUM(s) AS s FROM kstats;
