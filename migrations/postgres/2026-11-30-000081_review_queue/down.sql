DROP INDEX inspections_pending_idx;
