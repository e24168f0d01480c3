-- A plan's other targets (issue 19): indicators defined per plan as data,
-- and the activities units report against them.
CREATE TABLE plan_indicators (
    id         TEXT PRIMARY KEY,
    plan_id    TEXT NOT NULL REFERENCES plans (id),
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    unit_level TEXT NOT NULL CHECK (unit_level IN ('province', 'district', 'commune')),
    kind       TEXT NOT NULL CHECK (kind IN ('share_of_units', 'count', 'per_month')),
    target     DOUBLE NOT NULL CHECK (target >= 0),
    position   INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT plan_indicators_code_key UNIQUE (plan_id, code)
);

CREATE TABLE activities (
    id              TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL REFERENCES plans (id),
    indicator_id    TEXT NOT NULL REFERENCES plan_indicators (id),
    indicator_code  TEXT NOT NULL,
    org_unit_code   TEXT NOT NULL REFERENCES org_units (code),
    unit_path       TEXT NOT NULL,
    date            DATE NOT NULL,
    quantity        BIGINT NOT NULL CHECK (quantity >= 0),
    note            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('recorded', 'withdrawn')),
    withdraw_reason TEXT,
    evidence_sha256 TEXT REFERENCES attachments (sha256),
    posted_digest   TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX activities_indicator_idx ON activities (indicator_id, status);
CREATE INDEX activities_unit_path_idx ON activities (unit_path);
