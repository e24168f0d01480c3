-- When each user's device last synced its team's assignments.
ALTER TABLE users ADD COLUMN last_sync_at TIMESTAMP;
COMMENT ON COLUMN users.last_sync_at IS 'Last GET /teams/{id}/assignments by this user (kept to 5-minute precision); coverage lists devices silent for 14 days.';
