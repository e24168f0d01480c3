-- Drawing a plan inserts one assignment per selected establishment in one
-- transaction: about 100,000 for the whole country. Measured with EXPLAIN
-- ANALYZE on 5,000 of them, the three foreign keys of `assignments` took 55 %
-- of the insert (each check locks the referenced row, a WAL record per
-- establishment). Assignments are only ever inserted by the draw and the
-- top-up, from establishments, teams and the plan read in the same
-- transaction; what the foreign keys still guarded against is deleting a row
-- that assignments point at. Nothing in the service deletes establishments
-- (they are closed), teams or plans (they are the record of the programme),
-- so that rule is now enforced directly: deleting them is refused.
ALTER TABLE assignments
    DROP CONSTRAINT assignments_establishment_id_fkey,
    DROP CONSTRAINT assignments_team_id_fkey,
    DROP CONSTRAINT assignments_plan_id_fkey;

CREATE FUNCTION kiemtra_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% are never deleted: they are part of the inspection record', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER establishments_never_deleted BEFORE DELETE ON establishments
    FOR EACH ROW EXECUTE FUNCTION kiemtra_refuse_delete();
CREATE TRIGGER teams_never_deleted BEFORE DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION kiemtra_refuse_delete();
CREATE TRIGGER plans_never_deleted BEFORE DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION kiemtra_refuse_delete();

-- A round's recorded input (every eligible establishment, about 1.3 MB for
-- a province of 10,000) is written once and read only by verify: stored
-- uncompressed, so the draw does not spend its time in pglz.
ALTER TABLE draw_rounds ALTER COLUMN inputs SET STORAGE EXTERNAL;
