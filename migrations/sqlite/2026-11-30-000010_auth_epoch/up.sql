-- The auth epoch: see the PostgreSQL migration. SQLite triggers are per row.
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);
CREATE TRIGGER users_auth_epoch_ins AFTER INSERT ON users BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER users_auth_epoch_del AFTER DELETE ON users BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER users_auth_epoch_upd AFTER UPDATE OF id, username, role, org_unit_code, team_id, is_active ON users BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER teams_auth_epoch_ins AFTER INSERT ON teams BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER teams_auth_epoch_del AFTER DELETE ON teams BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER teams_auth_epoch_upd AFTER UPDATE OF id, org_unit_code ON teams BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER org_units_auth_epoch_ins AFTER INSERT ON org_units BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER org_units_auth_epoch_del AFTER DELETE ON org_units BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER org_units_auth_epoch_upd AFTER UPDATE OF code, path ON org_units BEGIN UPDATE auth_epoch SET value = value + 1 WHERE id = 1; END;
