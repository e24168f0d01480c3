-- Coverage and reports (src/routes/coverage.rs) count the inspections of
-- every establishment of a plan's unit: one probe of inspections per
-- establishment. With finished_at in the key and team_id, violation_count
-- included, each probe is an index-only scan (no visit to the table); the
-- index still serves every lookup by establishment the old one did.
CREATE INDEX inspections_establishment_finished_idx
    ON inspections (establishment_id, finished_at) INCLUDE (team_id, violation_count);
DROP INDEX inspections_establishment_idx;
COMMENT ON INDEX inspections_establishment_finished_idx IS 'Inspections of an establishment by time; covers coverage and report counts.';

-- The establishments of a unit with what coverage groups them by, also
-- without visiting the table; same key as the index it replaces, so keyset
-- pages by (unit_path, id) keep using it.
CREATE INDEX establishments_unit_path_cov_idx
    ON establishments (unit_path text_pattern_ops, id) INCLUDE (org_unit_code, business_type, status);
DROP INDEX establishments_unit_path_idx;
COMMENT ON INDEX establishments_unit_path_cov_idx IS 'Subtree scans of the registry; covers coverage counts.';

-- A plan's assignments with their team, establishment and status, without
-- the table; same key as the index it replaces (pages by (plan_id, id)).
CREATE INDEX assignments_plan_cov_idx
    ON assignments (plan_id, id) INCLUDE (team_id, establishment_id, status);
DROP INDEX assignments_plan_idx;
COMMENT ON INDEX assignments_plan_cov_idx IS 'A plan''s assignments by id; covers coverage counts.';
