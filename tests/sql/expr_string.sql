-- String functions.
SELECT UPPER('héllo'), LOWER('ABC'), CHAR_LENGTH('héllo'), CHARACTER_LENGTH('');

SELECT CONCAT('a', 'b', 'c'), 'x' || 'y', CONCAT('a', CAST(NULL AS STRING)), CONCAT_WS('-', 'a', 'b');

SELECT SUBSTRING('streamsql', 7), SUBSTRING('streamsql', 1, 6), SUBSTRING('streamsql' FROM 2 FOR 3);

SELECT TRIM('  pad  '), TRIM(BOTH 'x' FROM 'xxpadxx'), TRIM(LEADING 'x' FROM 'xxpad'), TRIM(TRAILING 'x' FROM 'padxx');

SELECT REGEXP_EXTRACT('foo123bar', '[0-9]+'), REGEXP_EXTRACT('k=v', '(\w+)=(\w+)', 2), REGEXP_EXTRACT('none', '[0-9]+');

SELECT SPLIT_INDEX('a,b,c', ',', 1), SPLIT_INDEX('a,b,c', ',', 5), REPLACE('aaa', 'a', 'b');

SELECT 'abc' LIKE 'a%', 'abc' LIKE '_b_', 'abc' NOT LIKE '%c', 'a%c' LIKE 'a!%c' ESCAPE '!', 'abc' LIKE 'A%';

SELECT UPPER(1);
