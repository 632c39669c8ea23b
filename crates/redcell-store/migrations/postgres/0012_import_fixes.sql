-- The highest id ever handed out or removed per table, so that an id freed by
-- an import undo is never handed out again by a later import (SQLite gives
-- MAX(id)+1; PostgreSQL uses the identity sequences and does not read this).
CREATE TABLE id_marks (
    table_name    TEXT PRIMARY KEY,
    high          BIGINT NOT NULL
);
