-- Yearly plans, their recorded draws, and the assignments teams fetch.
CREATE TABLE plans (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    year           INTEGER NOT NULL,
    org_unit_code  TEXT NOT NULL REFERENCES org_units (code),
    shares         TEXT NOT NULL,
    stratify_by    TEXT NOT NULL,
    risk_weighting BOOLEAN NOT NULL,
    seed           TEXT,
    status         TEXT NOT NULL CHECK (status IN ('draft', 'drawn')),
    version        INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX plans_org_unit_idx ON plans (org_unit_code);
COMMENT ON COLUMN plans.shares IS 'JSON [{"level","percent"}], in processing order.';
COMMENT ON COLUMN plans.seed IS '256-bit seed, 64 hex digits; fixed at creation if given, else drawn from the OS at draw time.';

CREATE TABLE draw_rounds (
    plan_id      TEXT NOT NULL REFERENCES plans (id),
    round        INTEGER NOT NULL,
    seed         TEXT NOT NULL,
    input_digest TEXT NOT NULL,
    inputs       TEXT NOT NULL,
    assignments  INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (plan_id, round)
);
COMMENT ON TABLE draw_rounds IS 'Round 1 is the draw, later rounds are top-ups; inputs is the exact DrawInput (JSON) so verify can recompute.';

CREATE TABLE change_counter (
    id    INTEGER PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);
COMMENT ON TABLE change_counter IS 'Source of assignment change numbers; its row lock orders concurrent writers so that sync tokens never skip a change.';

CREATE TABLE assignments (
    id               TEXT PRIMARY KEY,
    plan_id          TEXT NOT NULL REFERENCES plans (id),
    team_id          TEXT NOT NULL REFERENCES teams (id),
    establishment_id TEXT NOT NULL REFERENCES establishments (id),
    level            TEXT NOT NULL,
    round            INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'scheduled', 'completed', 'cancelled')),
    due_by           DATE NOT NULL,
    scheduled_for    DATE,
    cancel_reason    TEXT,
    version          INTEGER NOT NULL,
    change_seq       BIGINT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX assignments_one_per_establishment ON assignments (plan_id, establishment_id) WHERE status <> 'cancelled';
CREATE INDEX assignments_team_seq_idx ON assignments (team_id, change_seq);
CREATE INDEX assignments_plan_idx ON assignments (plan_id, id);
CREATE INDEX assignments_establishment_idx ON assignments (establishment_id);
COMMENT ON COLUMN assignments.change_seq IS 'Change number of the last change; teams sync with since=<change_seq>.';
