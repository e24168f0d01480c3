-- A draw no single person can steer (docs/draw.md §12): how a plan's seed is
-- fixed and the record of it, rehearsal plans, one live plan per unit, year
-- and level set, plan cancellation, and the selection order of assignments.
ALTER TABLE plans ADD COLUMN rehearsal BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE plans ADD COLUMN seed_procedure TEXT NOT NULL DEFAULT 'unrecorded';
ALTER TABLE plans ADD COLUMN seed_record TEXT;
ALTER TABLE plans ADD COLUMN seed_secret TEXT;
ALTER TABLE plans ADD COLUMN frozen_input TEXT;
ALTER TABLE plans ADD COLUMN live_key TEXT;
ALTER TABLE plans ADD COLUMN cancelled_at TIMESTAMP;
ALTER TABLE plans ADD COLUMN cancel_reason TEXT;
CREATE UNIQUE INDEX plans_one_live ON plans (live_key);

ALTER TABLE assignments ADD COLUMN selection_order INTEGER;

CREATE TABLE rehearsal_assignments (
    id               TEXT PRIMARY KEY,
    plan_id          TEXT NOT NULL,
    team_id          TEXT NOT NULL,
    establishment_id TEXT NOT NULL,
    level            TEXT NOT NULL,
    round            INTEGER NOT NULL,
    selection_order  INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX rehearsal_assignments_plan_idx ON rehearsal_assignments (plan_id, id);
