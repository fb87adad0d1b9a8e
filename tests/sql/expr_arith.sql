-- Arithmetic: integer, decimal and double typing; overflow and division by
-- zero are errors, not wraps.
SELECT 1 + 2, 7 / 2, 7 % 3, -5 + 1, 2 * 3 - 4;

SELECT CAST(7 AS BIGINT) / 2, 7.0 / 2, CAST(7 AS DOUBLE) / 2;

SELECT 1.10 + 2.205, 1.5 * 2.25, CAST(10.00 AS DECIMAL(10, 2)) - 0.01;

SELECT 2147483647 + 1;

SELECT CAST(2147483647 AS INT) + CAST(1 AS INT);

SELECT CAST(9223372036854775807 AS BIGINT) + 1;

SELECT 1 / 0;

SELECT CAST(1 AS DOUBLE) / 0, CAST(-1 AS DOUBLE) / 0;

SELECT 1 + NULL, NULL * 2;

SELECT 'a' + 1;
