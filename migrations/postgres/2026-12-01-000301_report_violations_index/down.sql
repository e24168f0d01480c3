DROP INDEX inspections_unit_path_cov_idx;
CREATE INDEX inspections_unit_path_cov_idx
    ON inspections (unit_path text_pattern_ops, finished_at)
    INCLUDE (establishment_id, org_unit_code, business_type, team_id, violation_count, outcome);
COMMENT ON INDEX inspections_unit_path_cov_idx IS 'Inspections of a subtree by time; covers coverage and report counts.';
