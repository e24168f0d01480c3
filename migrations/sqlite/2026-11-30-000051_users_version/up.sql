-- A user's version, for `PATCH /users/{id}` with `If-Match` (stale → 412):
-- bumped by every change to the account as the API shows it.
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
