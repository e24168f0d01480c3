-- `assignments` with its foreign keys again, rebuilt the same way as in
-- up.sql and for the same reasons.
PRAGMA defer_foreign_keys = ON;
CREATE INDEX inspections_assignment_rebuild_idx ON inspections (assignment_id);
CREATE TEMP TABLE assignments_rebuild AS SELECT * FROM assignments;
DROP TABLE assignments;

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
INSERT INTO assignments SELECT * FROM temp.assignments_rebuild;
DROP TABLE temp.assignments_rebuild;

CREATE UNIQUE INDEX assignments_one_per_establishment ON assignments (plan_id, establishment_id) WHERE status <> 'cancelled';
CREATE INDEX assignments_team_seq_idx ON assignments (team_id, change_seq);
CREATE INDEX assignments_plan_idx ON assignments (plan_id, id);
CREATE INDEX assignments_establishment_idx ON assignments (establishment_id);

DROP INDEX inspections_assignment_rebuild_idx;
