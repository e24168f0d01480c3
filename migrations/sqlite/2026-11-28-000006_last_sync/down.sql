ALTER TABLE users DROP COLUMN last_sync_at;
