-- Schema parity with PostgreSQL (SQLite). Keep in step with ../postgres/0013_schema_parity.sql.
--
-- Found by crates/redcell-store/tests/schema_parity.rs: a TEXT PRIMARY KEY
-- accepts NULL on SQLite (a historical quirk: only an INTEGER PRIMARY KEY, a
-- WITHOUT ROWID or a STRICT table, or an explicit NOT NULL rule it out), while
-- every primary-key column is NOT NULL on PostgreSQL. SQLite cannot add NOT
-- NULL to a column in place, so the two tables are rebuilt with their rows;
-- no table references either of them.

CREATE TABLE sessions_new (
    token_hash    TEXT NOT NULL PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ,
    ip            TEXT,
    user_agent    TEXT
);
-- A session without a token can never be presented: it is not carried over.
INSERT INTO sessions_new (token_hash, tenant_id, user_id, csrf, created_at, expires_at, last_seen, ip, user_agent)
SELECT token_hash, tenant_id, user_id, csrf, created_at, expires_at, last_seen, ip, user_agent
FROM sessions WHERE token_hash IS NOT NULL;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE id_marks_new (
    table_name    TEXT NOT NULL PRIMARY KEY,
    high          BIGINT NOT NULL
);
-- Marks are kept per named table; a row without a name marks nothing.
INSERT INTO id_marks_new (table_name, high) SELECT table_name, high FROM id_marks WHERE table_name IS NOT NULL;
DROP TABLE id_marks;
ALTER TABLE id_marks_new RENAME TO id_marks;
