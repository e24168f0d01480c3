DROP INDEX inspections_unit_path_cov_idx;
CREATE INDEX inspections_unit_path_cov_idx
    ON inspections (unit_path, finished_at, establishment_id, org_unit_code, business_type,
                    team_id, violation_count, outcome);
