-- Catalog statements: create, list, describe (in declaration order) and
-- drop tables and views.
CREATE TABLE seq (
  id BIGINT,
  price DECIMAL(10, 2),
  name STRING NOT NULL
) WITH (
  'connector' = 'datagen',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '5'
);

SHOW TABLES;

DESCRIBE seq;

-- A second table of the same name is an error.
CREATE TABLE seq (id BIGINT) WITH ('connector' = 'datagen');

CREATE VIEW small AS SELECT id FROM seq WHERE id < 3;

SHOW TABLES;

DESCRIBE small;

SELECT * FROM small;

DROP VIEW small;

DROP TABLE seq;

DROP TABLE seq;

SHOW TABLES;
