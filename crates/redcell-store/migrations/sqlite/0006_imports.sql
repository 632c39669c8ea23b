-- Rosters in (SQLite). Keep in step with ../postgres/0006_imports.sql.

-- One committed import: who, when, which file, the counts, the ids of the rows
-- it created and the prior values of the rows it changed (JSON), so that it
-- can be undone while nothing later depends on it.
CREATE TABLE import_batches (
    id              INTEGER PRIMARY KEY,
    tenant_id       BIGINT NOT NULL,
    user_id         BIGINT,
    at              TIMESTAMPTZ NOT NULL,
    kind            TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    rows_total      BIGINT NOT NULL,
    created_count   BIGINT NOT NULL,
    changed_count   BIGINT NOT NULL,
    unchanged_count BIGINT NOT NULL,
    created_json    TEXT NOT NULL,
    changed_json    TEXT NOT NULL,
    undone_at       TIMESTAMPTZ,
    undone_by       BIGINT
);
CREATE INDEX import_batches_at ON import_batches (tenant_id, at);

-- Uploaded files waiting for a preview or a commit, worked by any server
-- process: a worker claims a queued job with one conditional UPDATE.
CREATE TABLE import_jobs (
    id              INTEGER PRIMARY KEY,
    tenant_id       BIGINT NOT NULL,
    user_id         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    kind            TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    data            BLOB NOT NULL,
    mode            TEXT NOT NULL,
    status          TEXT NOT NULL,
    progress        BIGINT NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    claimed_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    report_json     TEXT,
    batch_id        BIGINT
);
CREATE INDEX import_jobs_status ON import_jobs (status, created_at);
CREATE INDEX import_jobs_user ON import_jobs (tenant_id, user_id, created_at);
