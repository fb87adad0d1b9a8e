-- Every supported column type, read from JSON lines, shown and described.
CREATE TABLE people (
  id BIGINT NOT NULL,
  name VARCHAR(10),
  age INT,
  score DOUBLE,
  active BOOLEAN,
  born DATE,
  seen TIMESTAMP(3),
  weight DECIMAL(5, 1)
) WITH ('connector' = 'filesystem', 'path' = 'testdata/people.json', 'format' = 'json');

DESCRIBE people;

SELECT * FROM people;

SELECT id, age + 1, score * 2, NOT active, born, seen + INTERVAL '1' SECOND FROM people;

CREATE TABLE typed (a TINYINT) WITH ('connector' = 'blackhole');

CREATE TABLE big (a DECIMAL(30, 2)) WITH ('connector' = 'blackhole');
