-- Coverage and reports (src/routes/coverage.rs) count, for a plan's unit,
-- the distinct establishments inspected and their violations, by commune
-- and business type or by team. Joining the unit's establishments to their
-- inspections made that one index probe of inspections per establishment
-- (about 11,000 for the largest province). With the establishment's current
-- unit path, commune and business type copied onto each of its inspections,
-- the counts are one range scan of one covering index instead.
--
-- The copies follow the establishment: every write that changes an
-- establishment's unit or type (PATCH /establishments/{id}, the registry
-- import, an org-unit import that moves a unit) updates its inspections in
-- the same transaction, and new minutes copy the establishment as it is when
-- they are written (src/routes/inspections.rs, write_batch).
ALTER TABLE inspections
    ADD COLUMN unit_path TEXT,
    ADD COLUMN org_unit_code TEXT,
    ADD COLUMN business_type TEXT;
UPDATE inspections i
    SET unit_path = e.unit_path, org_unit_code = e.org_unit_code, business_type = e.business_type
    FROM establishments e
    WHERE e.id = i.establishment_id;
ALTER TABLE inspections
    ALTER COLUMN unit_path SET NOT NULL,
    ALTER COLUMN org_unit_code SET NOT NULL,
    ALTER COLUMN business_type SET NOT NULL;
COMMENT ON COLUMN inspections.unit_path IS 'Copy of establishments.unit_path, kept equal to it, for coverage counts.';
COMMENT ON COLUMN inspections.org_unit_code IS 'Copy of establishments.org_unit_code, kept equal to it, for coverage counts.';
COMMENT ON COLUMN inspections.business_type IS 'Copy of establishments.business_type, kept equal to it, for coverage counts.';

-- A unit's inspections by time, with everything the counts read: an
-- index-only scan (given the visibility map that autovacuum keeps).
CREATE INDEX inspections_unit_path_cov_idx
    ON inspections (unit_path text_pattern_ops, finished_at)
    INCLUDE (establishment_id, org_unit_code, business_type, team_id, violation_count);
COMMENT ON INDEX inspections_unit_path_cov_idx IS 'Inspections of a subtree by time; covers coverage and report counts.';
