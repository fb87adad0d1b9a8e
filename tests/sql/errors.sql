-- Every statement here fails; each error must point at the offending
-- token, with lines counted in this file.
SELEC 1;

SELECT 1 +;

CREATE TABLE t (a INT) WITH ('connector' = );

SELECT x FROM no_such_table;

CREATE TABLE t (a NOTATYPE) WITH ('connector' = 'datagen');

  SELECT 1 AS ok; SELECT y FROM;

SELECT 'unterminated;
