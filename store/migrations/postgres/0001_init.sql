-- Ottr schema v1 (PostgreSQL). Times are unix milliseconds (INTEGER) on both
-- engines, so range scans on expiry are integer index scans.
CREATE TABLE assets (
    system_name            TEXT PRIMARY KEY,
    common_name            TEXT NOT NULL,
    sans                   TEXT NOT NULL DEFAULT '[]',
    certificate_authority  TEXT NOT NULL,
    certificate_expiration BIGINT,
    certificate_validation BOOLEAN NOT NULL DEFAULT TRUE,
    host_platform          TEXT NOT NULL,
    os_version             TEXT NOT NULL DEFAULT '',
    device_model           TEXT NOT NULL DEFAULT '',
    ip_address             TEXT NOT NULL DEFAULT '',
    data_center            TEXT NOT NULL DEFAULT '',
    origin                 TEXT NOT NULL DEFAULT '',
    port                   BIGINT NOT NULL DEFAULT 0,
    credential             TEXT NOT NULL DEFAULT '',
    dns_zone               TEXT NOT NULL DEFAULT '',
    last_rotation_time     BIGINT,
    last_rotation_status   TEXT NOT NULL DEFAULT '',
    last_rotation_error    TEXT NOT NULL DEFAULT '',
    last_rotation_id       TEXT NOT NULL DEFAULT '',
    certificate_serial     TEXT NOT NULL DEFAULT '',
    certificate_issuer     TEXT NOT NULL DEFAULT '',
    certificate_not_before BIGINT,
    has_labels             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX assets_ip_address ON assets(ip_address);
CREATE INDEX assets_common_name ON assets(common_name);
CREATE INDEX assets_data_center ON assets(data_center);
CREATE INDEX assets_host_platform ON assets(host_platform);
CREATE INDEX assets_origin ON assets(origin);
CREATE INDEX assets_certificate_authority ON assets(certificate_authority);
-- The router's pass reads only this index: it covers every column a due
-- decision and a route lookup need, ordered by expiry for the range scan.
CREATE INDEX assets_router ON assets(certificate_expiration, certificate_not_before,
    host_platform, os_version, device_model, certificate_authority, system_name);

CREATE TABLE asset_labels (
    system_name TEXT NOT NULL REFERENCES assets(system_name) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (system_name, key)
);
CREATE INDEX asset_labels_key_value ON asset_labels(key, value);

CREATE TABLE rotations (
    id             TEXT PRIMARY KEY,
    system_name    TEXT NOT NULL,
    state          TEXT NOT NULL,
    step           TEXT NOT NULL DEFAULT '',
    attempts       BIGINT NOT NULL DEFAULT 0,
    trigger_by     TEXT NOT NULL DEFAULT '',
    requested_by   TEXT NOT NULL DEFAULT '',
    recipe         TEXT NOT NULL DEFAULT '',
    error          TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT,
    updated_at     BIGINT NOT NULL,
    old_serial     TEXT NOT NULL DEFAULT '',
    new_serial     TEXT NOT NULL DEFAULT '',
    old_expiration BIGINT,
    new_expiration BIGINT
);
-- At most one live rotation per asset: a second request joins it.
CREATE UNIQUE INDEX rotations_one_live ON rotations(system_name) WHERE state IN ('queued', 'running');
CREATE INDEX rotations_system_name ON rotations(system_name, created_at);
CREATE INDEX rotations_created ON rotations(created_at, id);

CREATE TABLE rotation_logs (
    rotation_id TEXT NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    time        BIGINT NOT NULL,
    step        TEXT NOT NULL DEFAULT '',
    level       TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL,
    PRIMARY KEY (rotation_id, seq)
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id       BIGSERIAL PRIMARY KEY,
    time     BIGINT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    resource TEXT NOT NULL,
    before   TEXT,
    after    TEXT
);
CREATE INDEX audit_events_time ON audit_events(time);
