-- Nothing to do here: 000008_draw_write_path already dropped the foreign keys
-- of `assignments` on PostgreSQL, and the SQLite migration of the same name
-- drops them there so that both trees have the same keys.
SELECT 1;
