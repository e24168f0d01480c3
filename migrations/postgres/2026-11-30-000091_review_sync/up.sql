-- The change number (from change_counter) of the minutes' last review
-- change: a supervisor's decision, or a correction putting them back to
-- pending. A team's delta sync (`GET /teams/{id}/assignments?since=`)
-- carries the review changes of its minutes numbered after its token, so a
-- phone learns at its next sync that minutes were returned.
ALTER TABLE inspections ADD COLUMN review_seq BIGINT;
CREATE INDEX inspections_team_review_seq ON inspections (team_id, review_seq) WHERE review_seq IS NOT NULL;
COMMENT ON COLUMN inspections.review_seq IS 'change_counter number of the last review change (review or correction); null before any';
