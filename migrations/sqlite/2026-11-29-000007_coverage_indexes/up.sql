-- Coverage and reports (src/routes/coverage.rs) count the inspections of
-- every establishment of a plan's unit: one probe of inspections per
-- establishment, answered from the index alone (a covering index). It still
-- serves every lookup by establishment the old one did.
CREATE INDEX inspections_establishment_finished_idx
    ON inspections (establishment_id, finished_at, team_id, violation_count);
DROP INDEX inspections_establishment_idx;
