-- Checkpoint and restart settings: SET with our keys and Flink's, WITH
-- options, the defaults EXPLAIN lists once checkpointing is on, invalid
-- values and combinations, and tables that disagree. Nothing runs: EXPLAIN
-- only plans.
CREATE TABLE src (id BIGINT, s STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '10');

CREATE TABLE snk (id BIGINT, s STRING) WITH ('connector' = 'blackhole');

-- Checkpointing is off by default: only the interval is listed.
EXPLAIN INSERT INTO snk SELECT id, s FROM src;

-- Flink's key; the defaults now listed include the restart strategy.
SET 'execution.checkpointing.interval' = '10 s';

EXPLAIN INSERT INTO snk SELECT id, s FROM src;

SET 'execution.checkpointing.mode' = 'AT_LEAST_ONCE';

SET 'restart-strategy.type' = 'fixed-delay';

SET 'restart-strategy.fixed-delay.attempts' = '3';

SET 'state.backend' = 'rocksdb';

SET 'checkpoint.retained' = '3';

SET 'state.checkpoints.dir' = '/tmp/ckpt';

SET;

EXPLAIN SELECT id FROM src;

SET 'restart-strategy' = 'failure-rate';

SET 'restart-strategy.failure-rate.delay' = '5 s';

EXPLAIN SELECT id FROM src;

RESET;

-- A restart strategy without checkpointing lists its parameters; an
-- alignment timeout without unaligned checkpoints is accepted and ignored.
SET 'restart-strategy' = 'fixed-delay';

SET 'execution.checkpointing.alignment-timeout' = '5 s';

SET 'execution.checkpointing.incremental' = 'false';

EXPLAIN SELECT id FROM src;

RESET;

-- Invalid values name the key as written.
SET 'checkpoint.interval.ms' = '-5';

SET 'execution.checkpointing.interval' = '0';

SET 'checkpoint.interval.ms' = '5';

SET 'checkpoint.timeout.ms' = '0';

SET 'checkpoint.min-pause.ms' = 'soon';

SET 'checkpoint.max-concurrent' = '0';

SET 'checkpoint.mode' = 'twice';

SET 'checkpoint.unaligned' = 'maybe';

SET 'checkpoint.tolerable-failures' = '-1';

SET 'state.checkpoints.num-retained' = '0';

SET 'execution.checkpointing.externalized-checkpoint-retention' = 'NO_EXTERNALIZED_CHECKPOINTS';

SET 'restart-strategy' = 'sometimes';

SET 'restart-strategy.exponential-delay.backoff-multiplier' = '0.5';

SET 'restart-strategy.exponential-delay.jitter-factor' = '1.5';

SET 'execution.checkpointing.savepoint-dir' = '/tmp/sp';

-- Invalid combinations are planning errors naming the keys.
SET 'checkpoint.interval.ms' = '1000';

SET 'checkpoint.unaligned' = 'true';

SET 'checkpoint.mode' = 'at-least-once';

EXPLAIN SELECT id FROM src;

SET 'checkpoint.mode' = 'exactly-once';

SET 'execution.checkpointing.max-concurrent-checkpoints' = '2';

EXPLAIN SELECT id FROM src;

-- Unaligned with an alignment timeout: start aligned, turn unaligned.
RESET 'checkpoint.max-concurrent';

SET 'execution.checkpointing.aligned-checkpoint-timeout' = '30 s';

EXPLAIN SELECT id FROM src;

SET 'restart-strategy.exponential-delay.max-backoff' = '100 ms';

EXPLAIN SELECT id FROM src;

RESET;

-- Job settings in WITH options are not passed to the connector; tables
-- agree when their values mean the same, whichever name they use.
CREATE TABLE cp_src (id BIGINT, s STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '10',
  'execution.checkpointing.interval' = '10 s', 'execution.checkpointing.mode' = 'AT_LEAST_ONCE');

CREATE TABLE cp_snk (id BIGINT, s STRING) WITH ('connector' = 'blackhole',
  'checkpoint.interval.ms' = '10000', 'checkpoint.mode' = 'at-least-once', 'restart-strategy' = 'off');

EXPLAIN INSERT INTO cp_snk SELECT id, s FROM cp_src;

CREATE TABLE cp_other (id BIGINT, s STRING) WITH ('connector' = 'blackhole', 'checkpoint.interval.ms' = '20000');

EXPLAIN INSERT INTO cp_other SELECT id, s FROM cp_src;

-- SET overrides the tables, and so settles their disagreement.
SET 'checkpoint.interval.ms' = '30 s';

EXPLAIN INSERT INTO cp_other SELECT id, s FROM cp_src;

RESET;

CREATE TABLE cp_twice (id BIGINT) WITH ('connector' = 'blackhole',
  'checkpoint.interval.ms' = '1000', 'execution.checkpointing.interval' = '2 s');

EXPLAIN INSERT INTO cp_twice SELECT id FROM src;

CREATE TABLE cp_bad (id BIGINT) WITH ('connector' = 'blackhole', 'checkpoint.interval.ms' = '-5');

CREATE TABLE cp_bad_combo (id BIGINT) WITH ('connector' = 'blackhole',
  'checkpoint.unaligned' = 'true', 'checkpoint.mode' = 'AT_LEAST_ONCE');

EXPLAIN INSERT INTO cp_bad_combo SELECT id FROM src;
