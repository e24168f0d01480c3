-- The establishment's current unit path, commune and business type copied
-- onto its inspections, so that coverage counts are one range scan of one
-- covering index: see the PostgreSQL migration of the same name.
--
-- SQLite adds a NOT NULL column only with a default; the empty string is
-- never written by the service (every insert names the three columns) and
-- the backfill below replaces it on every existing row.
ALTER TABLE inspections ADD COLUMN unit_path TEXT NOT NULL DEFAULT '';
ALTER TABLE inspections ADD COLUMN org_unit_code TEXT NOT NULL DEFAULT '';
ALTER TABLE inspections ADD COLUMN business_type TEXT NOT NULL DEFAULT '';
UPDATE inspections
    SET (unit_path, org_unit_code, business_type) = (
        SELECT e.unit_path, e.org_unit_code, e.business_type
        FROM establishments e WHERE e.id = inspections.establishment_id);

-- A unit's inspections by time, with everything the counts read (a
-- covering index: SQLite never visits the table).
CREATE INDEX inspections_unit_path_cov_idx
    ON inspections (unit_path, finished_at, establishment_id, org_unit_code, business_type,
                    team_id, violation_count);
