-- Malformed input fails the job with file and line; the ignore option skips
-- and counts instead. Bad options are refused at CREATE TABLE.
CREATE TABLE bad (id INT, name STRING, amount DECIMAL(10, 2))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/bad.csv', 'format' = 'csv');

SELECT * FROM bad;

CREATE TABLE lenient (id INT, name STRING, amount DECIMAL(10, 2))
  WITH ('connector' = 'filesystem', 'path' = 'testdata/bad.csv', 'format' = 'csv', 'csv.ignore-parse-errors' = 'true');

SELECT * FROM lenient;

CREATE TABLE missing (id INT) WITH ('connector' = 'filesystem', 'path' = 'testdata/nope.csv', 'format' = 'csv');

SELECT * FROM missing;

CREATE TABLE noformat (id INT) WITH ('connector' = 'filesystem', 'path' = 'x');

CREATE TABLE badformat (id INT) WITH ('connector' = 'filesystem', 'path' = 'x', 'format' = 'xml');

CREATE TABLE unknown_opt (id INT) WITH ('connector' = 'filesystem', 'path' = 'x', 'format' = 'csv', 'csv.colour' = 'red');

CREATE TABLE monitor (id INT) WITH ('connector' = 'filesystem', 'path' = 'x', 'format' = 'csv', 'source.monitor-interval' = '1s');
