-- A failing asset is retried with a growing delay across router passes:
-- the failures in a row and when the next automatic attempt may start.
-- The router reads the latter from its covering index.
ALTER TABLE assets ADD COLUMN last_rotation_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN last_rotation_retry_after INTEGER;
DROP INDEX assets_router;
CREATE INDEX assets_router ON assets(certificate_expiration, certificate_not_before,
    host_platform, os_version, device_model, certificate_authority, system_name, last_rotation_retry_after);
