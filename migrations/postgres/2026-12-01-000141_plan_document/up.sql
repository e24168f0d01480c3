-- The plan as a document of its issuing body: its number ("20/KH-BCĐ") and
-- the body that issued it ("BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH"). The reports'
-- title block and file names use them; both optional, editable at any time
-- (they do not enter the draw).
ALTER TABLE plans ADD COLUMN number TEXT;
ALTER TABLE plans ADD COLUMN issuing_body TEXT;
COMMENT ON COLUMN plans.number IS 'the plan''s document number, e.g. 20/KH-BCĐ; null if not given';
COMMENT ON COLUMN plans.issuing_body IS 'the body that issued the plan, e.g. BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH; null if not given';
