-- The append-only, hash-chained audit log.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMP NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_id);
COMMENT ON TABLE audit_log IS 'Every change to establishments, plans, assignments, inspections; hash = SHA-256(prev_hash, seq, at, actor, action, entity_id, before, after).';
