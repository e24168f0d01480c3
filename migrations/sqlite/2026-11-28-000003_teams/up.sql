-- Inter-agency "178" inspection teams and their members.
CREATE TABLE teams (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    org_unit_code TEXT NOT NULL REFERENCES org_units (code),
    version       INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX teams_org_unit_idx ON teams (org_unit_code);

CREATE TABLE team_members (
    team_id    TEXT NOT NULL REFERENCES teams (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    agency     TEXT NOT NULL,
    is_leader  BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, user_id),
    CONSTRAINT team_members_user_key UNIQUE (user_id)
);
