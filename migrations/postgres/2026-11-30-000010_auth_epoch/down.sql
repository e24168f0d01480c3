DROP TRIGGER org_units_auth_epoch ON org_units;
DROP TRIGGER teams_auth_epoch ON teams;
DROP TRIGGER users_auth_epoch ON users;
DROP FUNCTION bump_auth_epoch();
DROP TABLE auth_epoch;
