-- `assignments` without its foreign keys to plans, teams and establishments,
-- as on PostgreSQL since 000008_draw_write_path, where triggers refusing
-- their deletion took their place on both backends.
--
-- SQLite cannot drop a constraint, so the table is rebuilt inside diesel's
-- transaction, where foreign_keys stays ON: the checks are deferred to the
-- commit, and the rows are set aside in a temporary table and put back
-- under the old name, because putting a row back is what clears the
-- violation its inspections counted when the table was dropped (a renamed
-- copy would leave them counted and the commit would fail).
PRAGMA defer_foreign_keys = ON;

-- Without an index on inspections.assignment_id each of those counts scans
-- every inspection, so one exists for the rebuild only.
CREATE INDEX inspections_assignment_rebuild_idx ON inspections (assignment_id);

-- The copy keeps the values as stored, its columns having the affinities of
-- the ones they come from.
CREATE TEMP TABLE assignments_rebuild AS SELECT * FROM assignments;
DROP TABLE assignments;

CREATE TABLE assignments (
    id               TEXT PRIMARY KEY,
    plan_id          TEXT NOT NULL,
    team_id          TEXT NOT NULL,
    establishment_id TEXT NOT NULL,
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
