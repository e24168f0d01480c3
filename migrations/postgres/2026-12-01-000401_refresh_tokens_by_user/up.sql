-- Tokens and console sessions by user: signing out everywhere, disabling an
-- account or resetting a password revokes all of a user's rows, and each
-- sign-in and refresh deletes that user's expired ones (they would
-- otherwise stay for ever: one row per sign-in, per refresh, per console
-- session).
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id, expires_at);
