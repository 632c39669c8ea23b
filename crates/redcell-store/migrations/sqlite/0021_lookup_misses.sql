-- Unknown follow codes tried per client address, so that guessing codes
-- (to read other people's requests) is refused across server processes.
CREATE TABLE request_lookup_misses (
    ip            TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_lookup_misses_ip ON request_lookup_misses (ip, at);
