-- Accounts, privacy and audit (SQLite). Keep in step with ../postgres/0002_access.sql.

-- The audit trail records who acted, for whom, and the row before and after.
ALTER TABLE audit_log ADD COLUMN on_behalf_of BIGINT;
ALTER TABLE audit_log ADD COLUMN before_json TEXT;
ALTER TABLE audit_log ADD COLUMN after_json TEXT;
ALTER TABLE audit_log ADD COLUMN ip TEXT;
CREATE INDEX audit_log_entity ON audit_log (tenant_id, entity, entity_id);
CREATE INDEX audit_log_user ON audit_log (tenant_id, user_id, at);

-- Append-only: no row is ever changed, and none is removed before it is 183 days old.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_retention BEFORE DELETE ON audit_log
WHEN OLD.at > strftime('%Y-%m-%dT%H:%M:%S', 'now', '-183 days')
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are kept for at least 183 days');
END;

ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN created_by BIGINT;

ALTER TABLE sessions ADD COLUMN last_seen TIMESTAMPTZ;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- Login attempts per client address, for rate limiting across server processes.
CREATE TABLE login_attempts (
    ip            TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);

-- Uploaded files live in the database (no web-root path, no public link) and are
-- served only through a handler that checks the caller's scope.
CREATE TABLE files (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    owner_kind    TEXT NOT NULL,
    owner_id      BIGINT NOT NULL,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    data          BLOB NOT NULL,
    created_by    BIGINT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX files_owner ON files (tenant_id, owner_kind, owner_id);
