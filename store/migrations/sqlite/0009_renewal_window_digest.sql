-- The CA's suggested renewal window (ARI, RFC 9773) for the certificate an
-- asset holds, the certificate's ARI identifier to ask again under, and
-- when to ask. An asset with a window is due inside it, so the router reads
-- the window start from its covering index (to leave windowed assets out of
-- the expiry ranges) and reads the assets whose window has started from a
-- partial index that covers its columns too (table reads made a pass over a
-- fleet with windows twice as slow); the window refresh finds its work
-- through another partial index.
ALTER TABLE assets ADD COLUMN renewal_window_start INTEGER;
ALTER TABLE assets ADD COLUMN renewal_window_end INTEGER;
ALTER TABLE assets ADD COLUMN renewal_window_url TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN renewal_window_cert_id TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN renewal_window_check_after INTEGER;
DROP INDEX assets_router;
CREATE INDEX assets_router ON assets(certificate_expiration, certificate_not_before,
    host_platform, os_version, device_model, certificate_authority, system_name, last_rotation_retry_after,
    renewal_window_start);
CREATE INDEX assets_renewal_window ON assets(renewal_window_start, renewal_window_end,
    certificate_expiration, certificate_not_before, host_platform, os_version, device_model,
    certificate_authority, system_name, last_rotation_retry_after) WHERE renewal_window_start IS NOT NULL;
CREATE INDEX assets_renewal_check ON assets(renewal_window_check_after) WHERE renewal_window_check_after IS NOT NULL;

-- The daily digest counts failing assets without reading every row.
CREATE INDEX assets_failing ON assets(system_name) WHERE last_rotation_status = 'failed';

-- Small facts replicas agree on through compare-and-set, such as the last
-- day a digest went out.
CREATE TABLE kv (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
