-- In-service members' reports come in from the employers' lists too (roster
-- import), which undoes a batch only while its rows are as it left them.
ALTER TABLE inservice_reports ADD COLUMN updated_at TIMESTAMPTZ;
UPDATE inservice_reports SET updated_at = created_at;
