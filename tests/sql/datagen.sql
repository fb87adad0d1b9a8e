-- datagen: sequences, bounded row counts, ranges and option errors.
CREATE TABLE seq (id BIGINT, n INT, s STRING) WITH (
  'connector' = 'datagen', 'number-of-rows' = '5', 'rows-per-second' = '1000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '10', 'fields.id.end' = '14',
  'fields.n.min' = '1', 'fields.n.max' = '3', 'fields.s.length' = '3');

SELECT id, n BETWEEN 1 AND 3, CHAR_LENGTH(s) FROM seq;

SET 'parallelism.default' = '2';

SELECT id FROM seq;

CREATE TABLE only_seq (id INT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3');

SELECT * FROM only_seq;

CREATE TABLE bad_kind (id INT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'foo');

CREATE TABLE bad_field (id INT) WITH ('connector' = 'datagen', 'fields.nope.min' = '1');

CREATE TABLE bad_range (id INT) WITH ('connector' = 'datagen', 'fields.id.min' = '5', 'fields.id.max' = '1');

CREATE TABLE no_end (id INT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1');

CREATE TABLE unknown (id INT) WITH ('connector' = 'datagen', 'rows-per-sec' = '5');
