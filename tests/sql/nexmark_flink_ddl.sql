-- Flink's Nexmark DDL, as the Nexmark suite writes it: one nexmark table
-- with event_type and a ROW column per event kind (flattened into leaf
-- columns such as bid.price), read through views with field access.
-- connectors/nexmark/sql_test.go checks that these views hold exactly the
-- per-kind tables' events.

CREATE TABLE nexmark (
    event_type int,
    person ROW<id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, state VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>,
    auction ROW<id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR>,
    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>,
    dateTime AS
        CASE
            WHEN event_type = 0 THEN person.dateTime
            WHEN event_type = 1 THEN auction.dateTime
            ELSE bid.dateTime
        END,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
    'connector' = 'nexmark',
    'first-event.rate' = '10000000',
    'next-event.rate' = '10000000',
    'events.num' = '100000',
    'person.proportion' = '1',
    'auction.proportion' = '3',
    'bid.proportion' = '46'
);

CREATE VIEW person AS SELECT person.id, person.name, person.emailAddress, person.creditCard, person.city, person.state, dateTime, person.extra FROM nexmark WHERE event_type = 0;
CREATE VIEW auction AS SELECT auction.id, auction.itemName, auction.description, auction.initialBid, auction.reserve, dateTime, auction.expires, auction.seller, auction.category, auction.extra FROM nexmark WHERE event_type = 1;
CREATE VIEW bid AS SELECT bid.auction, bid.bidder, bid.price, bid.channel, bid.url, dateTime, bid.extra FROM nexmark WHERE event_type = 2;

DESCRIBE nexmark;

DESCRIBE bid;

-- 100000 events: 1 person, 3 auctions and 46 bids of every 50.
SELECT event_type, COUNT(*) AS events, COUNT(person.id) AS people, COUNT(auction.id) AS auctions, COUNT(bid.auction) AS bids
FROM nexmark GROUP BY event_type;

-- q0: pass through.
SELECT auction, bidder, price, dateTime FROM bid LIMIT 5;

-- q1: currency conversion.
SELECT auction, bidder, 0.908 * price AS price, dateTime FROM bid LIMIT 3;

-- q2: selection.
SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0 LIMIT 4;

SELECT id, name, city, state, dateTime FROM person LIMIT 3;

SELECT id, itemName, initialBid, reserve, dateTime, expires, seller, category FROM auction LIMIT 3;

-- A small tumbling window count: the 100000 events span 10 ms of event
-- time at 10M events per second, so one window.
SELECT window_start, window_end, COUNT(*) AS bids, COUNT(DISTINCT auction) AS auctions, MAX(price) AS top
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND))
GROUP BY window_start, window_end;

-- q3-like: a join of two views of the same table.
SELECT COUNT(*) AS n, MIN(P.id) AS first_seller FROM auction AS A JOIN person AS P ON A.seller = P.id WHERE A.category = 10;

-- Field access straight on the table; with a table alias; a relation
-- named like a ROW column wins.
SELECT bid.price, nexmark.bid.channel, dateTime FROM nexmark WHERE event_type = 2 LIMIT 2;

SELECT n.bid.price, n.event_type FROM nexmark AS n WHERE n.bid.price > 90000000 LIMIT 2;

SELECT bid.price FROM nexmark AS bid;

-- SELECT * expands a ROW into its leaf columns.
CREATE VIEW everything AS SELECT * FROM nexmark;

DESCRIBE everything;

SELECT `person.name`, everything.auction.category FROM everything WHERE event_type < 2 LIMIT 2;

-- A whole ROW value is not supported yet.
SELECT bid FROM nexmark;

SELECT event_type FROM nexmark GROUP BY person;

-- Only the nexmark connector reads ROW columns.
CREATE TABLE out_rows (r ROW<a INT>) WITH ('connector' = 'blackhole');

CREATE TABLE bad (event_type BIGINT) WITH ('connector' = 'nexmark');

CREATE TABLE bad (event_type INT, bid ROW<price BIGINT, cost BIGINT>) WITH ('connector' = 'nexmark');

CREATE TABLE bad (event_type INT) WITH ('connector' = 'nexmark', 'next-event.rate' = '5');
