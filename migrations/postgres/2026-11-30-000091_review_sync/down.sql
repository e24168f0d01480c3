DROP INDEX inspections_team_review_seq;
ALTER TABLE inspections DROP COLUMN review_seq;
