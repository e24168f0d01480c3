CREATE INDEX assignments_plan_idx ON assignments (plan_id, id);
DROP INDEX assignments_plan_cov_idx;
CREATE INDEX establishments_unit_path_idx ON establishments (unit_path text_pattern_ops, id);
DROP INDEX establishments_unit_path_cov_idx;
CREATE INDEX inspections_establishment_idx ON inspections (establishment_id);
DROP INDEX inspections_establishment_finished_idx;
