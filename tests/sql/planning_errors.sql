-- Planning errors name what is wrong and where.
CREATE TABLE t (a BIGINT, b STRING, ts TIMESTAMP(3)) WITH ('connector' = 'datagen', 'number-of-rows' = '1');

SELECT c FROM t;

SELECT t2.a FROM t;

SELECT a + b FROM t;

SELECT a FROM t WHERE a;

SELECT NO_SUCH_FUNCTION(a) FROM t;

SELECT SUBSTRING(b) FROM t;

SELECT b FROM t GROUP BY a;

SELECT SUM(COUNT(*)) FROM t;

SELECT SUM(b) FROM t;

SELECT a FROM t WHERE COUNT(*) > 1;

SELECT a, COUNT(*) FROM t GROUP BY a ORDER BY a;

SELECT STDDEV(a) FROM t;

SELECT * FROM t AS x JOIN t AS y ON x.a = y.b;

SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND));

CREATE TABLE endless (a BIGINT) WITH ('connector' = 'datagen');

SELECT a FROM endless ORDER BY a;

CREATE TABLE t3 (a INT, a STRING) WITH ('connector' = 'blackhole');

CREATE TABLE t4 (a INT) WITH ('format' = 'csv');

CREATE TABLE t5 (a INT) WITH ('connector' = 'kafka-ish');

CREATE TABLE t6 (a INT, b AS a + 'x') WITH ('connector' = 'blackhole');

CREATE TABLE t7 (a INT, PRIMARY KEY (z) NOT ENFORCED) WITH ('connector' = 'blackhole');
