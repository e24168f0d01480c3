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
ALTER TABLE plans ALTER COLUMN frozen_input SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX plans_one_live ON plans (live_key);
COMMENT ON COLUMN plans.rehearsal IS 'A rehearsal (bốc thăm thử): may take a caller''s seed; its selections are in rehearsal_assignments and never reach a team.';
COMMENT ON COLUMN plans.seed_procedure IS 'server_random, public_beacon or caller (rehearsals); unrecorded for plans made before this migration.';
COMMENT ON COLUMN plans.seed_record IS 'JSON: the seed procedure''s public record (frozen digest, server commitment and value, beacon).';
COMMENT ON COLUMN plans.seed_secret IS 'public_beacon: the server value committed at freeze, revealed (copied into seed_record) at the draw.';
COMMENT ON COLUMN plans.frozen_input IS 'public_beacon: the round-1 DrawInput (JSON, zero seed) frozen before the beacon.';
COMMENT ON COLUMN plans.live_key IS 'unit|year|sorted levels while the plan is live (not a rehearsal, not cancelled); NULL otherwise. Unique: one live plan per unit, year and level set. NULL for plans made before this migration.';

ALTER TABLE assignments ADD COLUMN selection_order INTEGER;
COMMENT ON COLUMN assignments.selection_order IS 'Position (from 1) in its round''s selections, the draw''s output order; NULL for assignments made before migration 000061.';

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
COMMENT ON TABLE rehearsal_assignments IS 'A rehearsal''s would-be assignments: kept apart from assignments so that no team list, sync, coverage or report can ever read them.';
