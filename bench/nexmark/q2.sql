-- Nexmark q2: Selection
-- Bids on a set of auctions (every 123rd auction id) and their price.
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

CREATE TABLE nexmark_q2 (
  auction BIGINT,
  price BIGINT
) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q2
SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
