-- Assets no route serves are watched: each router pass reads the
-- certificate the device serves and records it (ottr.Asset.Monitored,
-- CertificateObservedAt). expiry_alerted is the expiry (unix ms) of the
-- certificate last alerted about, and expiry_alerted_expired whether that
-- alert said it had expired: each alert goes out once per certificate.
ALTER TABLE assets ADD COLUMN monitored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN certificate_observed_at INTEGER;
ALTER TABLE assets ADD COLUMN expiry_alerted INTEGER;
ALTER TABLE assets ADD COLUMN expiry_alerted_expired INTEGER NOT NULL DEFAULT 0;
-- A pass clears the flag on the watched assets a route now serves,
-- reading only those through this index.
CREATE INDEX assets_monitored ON assets(host_platform, os_version, device_model, certificate_authority, system_name) WHERE monitored = 1;

-- What the watch pass did, beside the router's own counts.
ALTER TABLE router_passes ADD COLUMN watched INTEGER NOT NULL DEFAULT 0;
ALTER TABLE router_passes ADD COLUMN watch_failed INTEGER NOT NULL DEFAULT 0;
