DROP INDEX inspections_unit_path_cov_idx;
ALTER TABLE inspections
    DROP COLUMN unit_path,
    DROP COLUMN org_unit_code,
    DROP COLUMN business_type;
