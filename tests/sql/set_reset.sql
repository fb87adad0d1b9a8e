-- Session settings: SET, listing, RESET and invalid values.
SET 'parallelism.default' = '2';

SET 'table.local-time-zone' = 'Asia/Tokyo';

SET;

SET 'parallelism.default' = 'zero';

SET 'table.local-time-zone' = 'Mars/Olympus';

RESET 'parallelism.default';

SET;

RESET;

SET;
