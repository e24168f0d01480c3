-- The reports' violation tables (sanctions, violations by code) join
-- violations to the inspections of a subtree and period by the inspection's
-- id. Without the id in the covering index, PostgreSQL could not take those
-- inspections from it and read the whole inspections table instead (every
-- province's: 384 MB at 1,000,000 inspections, twice per report), which
-- made the first report after a cold start take 10 s (bench/RESULTS-reports.md,
-- 2026-12-01). With it, both joins read the subtree's range of the index.
DROP INDEX inspections_unit_path_cov_idx;
CREATE INDEX inspections_unit_path_cov_idx
    ON inspections (unit_path text_pattern_ops, finished_at)
    INCLUDE (establishment_id, org_unit_code, business_type, team_id, violation_count, outcome, id);
COMMENT ON INDEX inspections_unit_path_cov_idx IS 'Inspections of a subtree by time; covers coverage and report counts and the reports'' joins to violations.';
