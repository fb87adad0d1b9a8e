-- Nexmark q14: Calculation
-- A projection with arithmetic, a CASE on the hour and a character count, over a range filter.
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

CREATE TABLE nexmark_q14 (
  auction BIGINT,
  bidder BIGINT,
  price DECIMAL(18, 3),
  bidTimeType STRING,
  dateTime TIMESTAMP(3),
  extra STRING,
  c_counts BIGINT
) WITH ('connector' = 'blackhole');

-- Nexmark counts the 'c's of extra with a user-defined function
-- (count_char); streamsql has no UDFs, so the same count is written as
-- CHAR_LENGTH(extra) - CHAR_LENGTH(REPLACE(extra, 'c', '')).
INSERT INTO nexmark_q14
SELECT auction, bidder, 0.908 * price AS price,
  CASE
    WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'
    WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime'
    ELSE 'otherTime'
  END AS bidTimeType,
  dateTime, extra,
  CHAR_LENGTH(extra) - CHAR_LENGTH(REPLACE(extra, 'c', '')) AS c_counts
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
