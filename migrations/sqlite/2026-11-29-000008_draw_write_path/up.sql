-- The PostgreSQL migration of the same name trades the foreign keys of
-- `assignments` for refusing deletes (see there). SQLite keeps its foreign
-- keys, which cost little there; it gets the same refusal so that both
-- backends enforce the same rule.
CREATE TRIGGER establishments_never_deleted BEFORE DELETE ON establishments
BEGIN SELECT RAISE(ABORT, 'establishments are never deleted: they are part of the inspection record'); END;
CREATE TRIGGER teams_never_deleted BEFORE DELETE ON teams
BEGIN SELECT RAISE(ABORT, 'teams are never deleted: they are part of the inspection record'); END;
CREATE TRIGGER plans_never_deleted BEFORE DELETE ON plans
BEGIN SELECT RAISE(ABORT, 'plans are never deleted: they are part of the inspection record'); END;
