-- The console's review queue: pending minutes of a subtree, flagged ones
-- first. Few minutes wait at any time, so a partial index stays small.
CREATE INDEX inspections_pending_idx
    ON inspections (unit_path, far_from_site, clock_skew, received_at)
    WHERE review_status = 'pending';
