-- Issue 4, figures 2 and 4: a rocksdb task holding a lot of state.
-- Ids 1..2 000 000 are 2 million distinct keys (the build phase); after
-- them, 16 million rows update only the 10 000 keys 1..10 000 (0.5 % of
-- the state changes between two checkpoints). Incremental checkpoints
-- every second; the last 10 are kept, so `streamsql checkpoints` shows
-- each one's synchronous phase per task, full state size and upload.
--
--   streamsql run large_state.sql
--   streamsql checkpoints checkpoints/bench-large-state
--
-- Recovery (figure 4): the same file from the latest checkpoint. The
-- restored job continues after the checkpoint's position; raise
-- fields.id.end (e.g. by 8 000 000) so it runs long enough to checkpoint.
--
--   streamsql run --restore latest large_state.sql
--
-- About 1 GB of state: 40 000 000 keys (27 bytes per key on disk): set
-- the three numbers 2000000 below to 40000000 (fields.id.end to
-- 56000000). See README.md for the time that takes.
SET 'state.backend' = 'rocksdb';
SET 'state.backend.incremental' = 'true';
SET 'checkpoint.interval.ms' = '1000';
SET 'checkpoint.retained' = '10';
SET 'checkpoint.dir' = 'checkpoints';
SET 'pipeline.name' = 'bench-large-state';

CREATE TABLE src (id BIGINT, v BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '18000000',
  'fields.v.min' = '0', 'fields.v.max' = '1000');

CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO sink SELECT k, COUNT(*), SUM(v)
FROM (SELECT CASE WHEN id <= 2000000 THEN id ELSE MOD(id, 10000) + 1 END AS k, v FROM src)
GROUP BY k;
