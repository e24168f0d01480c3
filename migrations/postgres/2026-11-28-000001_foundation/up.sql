-- Foundation: administrative units, accounts, refresh tokens, the registry.
-- Ids are stored as text (UUID strings) on both backends so that one diesel
-- schema serves PostgreSQL and SQLite; timestamps are UTC without zone.

CREATE TABLE org_units (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    parent_code TEXT REFERENCES org_units (code),
    path        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX org_units_parent_idx ON org_units (parent_code);
CREATE INDEX org_units_path_idx ON org_units (path text_pattern_ops);
COMMENT ON TABLE org_units IS 'Administrative units (statistics-office codes), a tree of any depth.';
COMMENT ON COLUMN org_units.path IS 'Codes from the root down to this unit, as /37/372/14362/; subtree = path prefix.';

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'inspector')),
    org_unit_code TEXT REFERENCES org_units (code),
    team_id       TEXT,
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL
);
COMMENT ON TABLE users IS 'Accounts; passwords are argon2id PHC strings.';

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    revoked_at  TIMESTAMP,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
COMMENT ON TABLE refresh_tokens IS 'Opaque refresh tokens, stored as SHA-256; rotated on use, reuse revokes the family.';

CREATE TABLE establishments (
    id            TEXT PRIMARY KEY,
    licence_no    TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_fold     TEXT NOT NULL,
    business_type TEXT NOT NULL,
    org_unit_code TEXT NOT NULL REFERENCES org_units (code),
    unit_path     TEXT NOT NULL,
    address       TEXT NOT NULL,
    owner_name    TEXT,
    phone         TEXT,
    latitude      DOUBLE PRECISION,
    longitude     DOUBLE PRECISION,
    status        TEXT NOT NULL CHECK (status IN ('active', 'closed')),
    closed_on     DATE,
    closed_reason TEXT,
    reinspect     BOOLEAN NOT NULL DEFAULT FALSE,
    version       INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CONSTRAINT establishments_licence_no_key UNIQUE (licence_no)
);
CREATE INDEX establishments_unit_path_idx ON establishments (unit_path text_pattern_ops, id);
CREATE INDEX establishments_org_unit_idx ON establishments (org_unit_code);
COMMENT ON TABLE establishments IS 'The registry of sensitive service establishments.';
COMMENT ON COLUMN establishments.unit_path IS 'Copy of org_units.path of org_unit_code, for subtree scans without a join.';
COMMENT ON COLUMN establishments.name_fold IS 'Lower-case name without diacritics, for search that ignores them.';
