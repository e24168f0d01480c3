DROP INDEX inspections_unit_path_cov_idx;
ALTER TABLE inspections DROP COLUMN business_type;
ALTER TABLE inspections DROP COLUMN org_unit_code;
ALTER TABLE inspections DROP COLUMN unit_path;
