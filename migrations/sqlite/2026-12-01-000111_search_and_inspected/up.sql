-- Coverage and the reports count as inspected only the minutes whose
-- outcome is an inspection (no violation or violations found; see
-- domain::status::Outcome::INSPECTED): the outcome joins the covering
-- index's columns, so those counts read the index alone.
DROP INDEX inspections_unit_path_cov_idx;
CREATE INDEX inspections_unit_path_cov_idx
    ON inspections (unit_path, finished_at, establishment_id, org_unit_code, business_type,
                    team_id, violation_count, outcome);
