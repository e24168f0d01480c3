-- The auth epoch: a number that changes in the same transaction as any
-- write to what a caller's authorisation is read from (users, their teams,
-- the units of both). A server may keep callers it has read, tagged with
-- the epoch read in the same statement, and reuse them while the epoch it
-- reads with a later request is the same (docs/scaling.md). Triggers, not
-- the application, bump it, so a change made by hand in SQL counts too.
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);
COMMENT ON TABLE auth_epoch IS 'Bumped by triggers on every write to users (except to last_sync_at, password_hash, full_name), teams and org_units; a server reuses a caller read at the current value.';

CREATE FUNCTION bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_auth_epoch
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF id, username, role, org_unit_code, team_id, is_active
    ON users FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER teams_auth_epoch
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF id, org_unit_code
    ON teams FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER org_units_auth_epoch
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF code, path
    ON org_units FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
