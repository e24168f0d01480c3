-- pgbench script: the database work of one POST /api/v1/inspections, without
-- the service: one transaction with the inspections row, its version 1, three
-- violations rows and one audit row. The audit row goes to bench_audit_log
-- (same columns as audit_log) numbered by a sequence, so there is no chain
-- lock (the service takes pg_advisory_xact_lock and reads the chain's tail).
--
-- Needs, created by bench/run: bench_est(k, id) = establishments inside the
-- team's jurisdiction numbered 1..nest, bench_audit_log, bench_audit_seq; and
-- -D team=<team id> -D actor=<inspector user id> -D nest=<rows in bench_est>.
\set k random(1, :nest)
BEGIN;
SELECT gen_random_uuid()::text AS iid, e.id AS est, e.unit_path AS path, e.org_unit_code AS unit,
    e.business_type AS btype
  FROM bench_est b JOIN establishments e ON e.id = b.id WHERE b.k = :k \gset
INSERT INTO inspections (id, establishment_id, team_id, assignment_id, plan_id, body_hash,
    current_version, outcome, finished_at, violation_count, review_status, clock_skew,
    distance_m, far_from_site, received_at, created_by, updated_at,
    unit_path, org_unit_code, business_type)
VALUES (':iid', ':est', ':team', NULL, NULL, encode(sha256(convert_to(':iid' || ':est', 'UTF8')), 'hex'),
    1, 'violations_found', (now() - interval '1 day')::timestamp, 3, 'pending', false,
    NULL, false, now()::timestamp, ':actor', now()::timestamp,
    ':path', ':unit', ':btype');
INSERT INTO inspection_versions (inspection_id, version, started_at, finished_at, utc_offset_min,
    latitude, longitude, accuracy_m, members_present, outcome, notes, checklist, violations,
    reason, created_by, created_at)
VALUES (':iid', 1, (now() - interval '1 day 1 hour')::timestamp, (now() - interval '1 day')::timestamp, 420,
    NULL, NULL, NULL, '[":actor"]', 'violations_found', NULL, NULL,
    '[{"code":"GUEST_REGISTER","description":null,"sanction":"warning","fine_vnd":null},{"code":"LABOUR_CONTRACT","description":null,"sanction":"fine","fine_vnd":5000000},{"code":"STAFF_REGISTER","description":null,"sanction":"fine","fine_vnd":2000000}]',
    NULL, ':actor', now()::timestamp);
INSERT INTO violations (inspection_id, position, code, sanction, fine_vnd)
VALUES (':iid', 0, 'GUEST_REGISTER', 'warning', NULL);
INSERT INTO violations (inspection_id, position, code, sanction, fine_vnd)
VALUES (':iid', 1, 'LABOUR_CONTRACT', 'fine', 5000000);
INSERT INTO violations (inspection_id, position, code, sanction, fine_vnd)
VALUES (':iid', 2, 'STAFF_REGISTER', 'fine', 2000000);
INSERT INTO bench_audit_log (seq, at, actor, action, entity_id, before, after, prev_hash, hash)
VALUES (nextval('bench_audit_seq'), now()::timestamp, ':actor', 'inspection.create', ':iid', NULL,
    '{"id":":iid","assignment_id":null,"establishment_id":":est","team_id":":team","plan_id":null,"version":1,"started_at":"","finished_at":"","location":null,"members_present":[":actor"],"outcome":"violations_found","notes":null,"checklist":null,"violations":[{"code":"GUEST_REGISTER","description":null,"sanction":"warning","fine_vnd":null},{"code":"LABOUR_CONTRACT","description":null,"sanction":"fine","fine_vnd":5000000},{"code":"STAFF_REGISTER","description":null,"sanction":"fine","fine_vnd":2000000}],"review":{"status":"pending","comment":null,"reviewed_by":null,"reviewed_at":null},"received_at":"","flags":{"clock_skew":false,"far_from_establishment":false,"distance_m":null},"created_by":":actor","attachments":[]}',
    repeat('0', 64), encode(sha256(convert_to(':iid', 'UTF8')), 'hex'));
COMMIT;
