DROP INDEX inspections_unit_path_cov_idx;
CREATE INDEX inspections_unit_path_cov_idx
    ON inspections (unit_path text_pattern_ops, finished_at)
    INCLUDE (establishment_id, org_unit_code, business_type, team_id, violation_count);
COMMENT ON INDEX inspections_unit_path_cov_idx IS 'Inspections of a subtree by time; covers coverage and report counts.';
DROP INDEX IF EXISTS establishments_licence_no_trgm_idx;
DROP INDEX IF EXISTS establishments_name_fold_trgm_idx;
