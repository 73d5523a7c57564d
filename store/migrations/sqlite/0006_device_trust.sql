-- What Ottr trusts of a device's management endpoint beyond the usual
-- checks: the key pinned on first contact (certificate_validation False),
-- a key presented and refused, and a hold until an ADMIN approves.
CREATE TABLE device_trust (
    system_name    TEXT PRIMARY KEY,
    fingerprint    TEXT NOT NULL DEFAULT '',
    pending        TEXT NOT NULL DEFAULT '',
    needs_approval INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL
);
