-- Issue 4, figure 3: checkpoints under backpressure, aligned vs
-- unaligned. An unbounded datagen feeds a keyed exchange (parallelism 4)
-- into GROUP BY; the print sink writes to stdout, and a reader that
-- drains the pipe slowly makes the sink block: every channel fills up
-- with its 8 batches, so an aligned barrier waits behind 4 x 8 batches
-- per aggregate subtask while an unaligned one overtakes them (and saves
-- them as in-flight data). Stop with Ctrl-C after a few checkpoints; the
-- checkpoint lines on stderr give each one's duration.
--
--   streamsql run backpressure.sql | sh -c 'while head -c 200000 >/dev/null; do sleep 0.25; done'
--   sed "s/'checkpoint.unaligned' = 'false'/'checkpoint.unaligned' = 'true'/" backpressure.sql \
--     | streamsql run - | sh -c 'while head -c 200000 >/dev/null; do sleep 0.25; done'
--   streamsql checkpoints checkpoints/bench-backpressure
--
-- The Go benchmark (BenchmarkCheckpointBackpressure) uses a sink that
-- sleeps per batch instead of a pipe, which is more regular.
SET 'parallelism.default' = '4';
SET 'table.exec.mini-batch.size' = '1000';
SET 'table.exec.mini-batch.allow-latency' = '0 ms';
SET 'checkpoint.interval.ms' = '1000';
SET 'checkpoint.unaligned' = 'false';
SET 'checkpoint.retained' = '20';
SET 'checkpoint.dir' = 'checkpoints';
SET 'pipeline.name' = 'bench-backpressure';

CREATE TABLE src (k BIGINT, v BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000',
  'fields.k.min' = '0', 'fields.k.max' = '9999', 'fields.v.min' = '0', 'fields.v.max' = '1000');

CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT) WITH ('connector' = 'print');

INSERT INTO sink SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k;
