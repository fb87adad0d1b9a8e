-- Nexmark q13: Bounded Side Input Join
-- Bids enriched from a static side table (key, value) looked up at processing time.
-- Template: the runner (streamsql bench nexmark) fills ${EVENTS} and prepends
-- SET statements for parallelism, state backend and checkpoint interval;
-- see README.md.

CREATE TABLE bid (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel STRING,
  url STRING,
  dateTime TIMESTAMP(3),
  extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
  'connector' = 'nexmark',
  'nexmark.table' = 'bid',
  'events.num' = '${EVENTS}',
  'first-event.rate' = '10000000',
  'checkpoint.interval.ms' = '10000',
  'checkpoint.mode' = 'exactly-once'
);

-- The runner writes side_input.csv (keys 0..9999) into the query's working
-- directory before it runs.
CREATE TABLE side_input (
  `key` BIGINT,
  `value` STRING
) WITH ('connector' = 'filesystem', 'path' = 'side_input.csv', 'format' = 'csv');

CREATE TABLE nexmark_q13 (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  dateTime TIMESTAMP(3),
  `value` STRING
) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q13
SELECT B.auction, B.bidder, B.price, B.dateTime, S.`value`
FROM (SELECT *, PROCTIME() AS p_time FROM bid) B
JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
ON MOD(B.auction, 10000) = S.`key`;
