-- Sealed secrets (AES-256-GCM under the master key; never clear text) and
-- the built-in DNS server's challenge TXT records.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE dns_txt (
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (name, value)
);
