-- The registry's text search (GET /establishments?q=, the console's
-- registry) matches `name_fold LIKE '%…%' OR licence_no LIKE '%…%'`: without
-- an index, every establishment of the caller's area is read and tested (the
-- whole province's rows for a supervisor). pg_trgm's GIN indexes answer
-- `LIKE '%…%'` from the index (three characters or more; shorter patterns
-- fall back to the scan), with the same results. pg_trgm is in PostgreSQL's
-- contrib, shipped with Debian's server package and the official image, and a
-- trusted extension (the database's owner may create it). Where it is not
-- installed, or the role may not create it, the search keeps working without
-- the indexes: a notice, not a failed migration.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX establishments_name_fold_trgm_idx
            ON establishments USING gin (name_fold gin_trgm_ops);
        -- On `licence_no || ''`, the expression the search tests, not on the
        -- column: pg_trgm also answers `=`, and an index on the column was
        -- chosen for the import's `licence_no = ANY(…)` look-ups inside its
        -- one transaction (statistics of an empty table), each search then
        -- reading GIN's whole pending list: the 200,000-row import went from
        -- 20 s to many minutes. Equality keeps the unique btree.
        CREATE INDEX establishments_licence_no_trgm_idx
            ON establishments USING gin ((licence_no || '') gin_trgm_ops);
        COMMENT ON INDEX establishments_name_fold_trgm_idx IS 'Search of the registry by any part of the folded name.';
        COMMENT ON INDEX establishments_licence_no_trgm_idx IS 'Search of the registry by any part of the licence number.';
    ELSE
        RAISE NOTICE 'pg_trgm is not available: the registry search runs without its indexes';
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm could not be created (%): the registry search runs without its indexes', SQLERRM;
END
$$;

-- Coverage and the reports count as inspected only the minutes whose
-- outcome is an inspection (no violation or violations found; see
-- domain::status::Outcome::INSPECTED): the outcome joins the columns the
-- covering index carries, so those counts stay index-only scans.
DROP INDEX inspections_unit_path_cov_idx;
CREATE INDEX inspections_unit_path_cov_idx
    ON inspections (unit_path text_pattern_ops, finished_at)
    INCLUDE (establishment_id, org_unit_code, business_type, team_id, violation_count, outcome);
COMMENT ON INDEX inspections_unit_path_cov_idx IS 'Inspections of a subtree by time; covers coverage and report counts.';
