-- INSERT matches columns by position or by a column list, widens types
-- where Flink does implicitly, and refuses the rest.
CREATE TABLE src (id INT, name STRING, price DECIMAL(6, 2)) WITH (
  'connector' = 'datagen', 'number-of-rows' = '3',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3',
  'fields.name.length' = '1', 'fields.price.min' = '1', 'fields.price.max' = '2');

CREATE TABLE wide (id BIGINT, name STRING, price DOUBLE, note STRING) WITH ('connector' = 'print');

INSERT INTO wide (id, price, name) SELECT id, CAST(1.5 AS DECIMAL(6, 2)), 'n' FROM src;

INSERT INTO wide SELECT id, name, price FROM src;

INSERT INTO wide SELECT name, name, price, name FROM src;

INSERT INTO wide (id, nope) SELECT id, name FROM src;

INSERT INTO no_table SELECT 1;

CREATE VIEW v AS SELECT 1 AS x;

INSERT INTO v SELECT 1;
