-- A streaming job on the embedded defaults: no servers, no files.
-- Orders are generated at 20 rows per second (100 in all, so it ends after
-- about five seconds); the big ones are converted and printed as a changelog.
CREATE TABLE orders (
  id       BIGINT,
  customer STRING,
  amount   DECIMAL(10, 2),
  ts       TIMESTAMP(3),
  big AS amount > 100
) WITH (
  'connector'             = 'datagen',
  'rows-per-second'       = '20',
  'number-of-rows'        = '100',
  'fields.id.kind'        = 'sequence',
  'fields.id.start'       = '1',
  'fields.id.end'         = '100',
  'fields.customer.length' = '6',
  'fields.amount.min'     = '1',
  'fields.amount.max'     = '500'
);

CREATE TABLE big_orders (id BIGINT, customer STRING, eur DOUBLE)
  WITH ('connector' = 'print');

INSERT INTO big_orders
SELECT id, UPPER(customer), CAST(amount AS DOUBLE) * 0.9
FROM orders
WHERE big AND customer IS NOT NULL;
