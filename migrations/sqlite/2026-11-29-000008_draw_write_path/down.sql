DROP TRIGGER plans_never_deleted;
DROP TRIGGER teams_never_deleted;
DROP TRIGGER establishments_never_deleted;
