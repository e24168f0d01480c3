ALTER TABLE plans DROP COLUMN issuing_body;
ALTER TABLE plans DROP COLUMN number;
