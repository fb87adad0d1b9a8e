-- Nexmark q18: Find Last Bid
-- The last bid of each bidder on each auction: deduplication keeping the latest row.
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

CREATE TABLE nexmark_q18 (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel STRING,
  url STRING,
  dateTime TIMESTAMP(3),
  extra STRING
) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q18
SELECT auction, bidder, price, channel, url, dateTime, extra
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) AS rank_number
  FROM bid
)
WHERE rank_number <= 1;
