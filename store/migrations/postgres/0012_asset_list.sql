-- The dashboard lists assets by expiry and by last change as well as by
-- name and platform (ottr.AssetSorts), a page at a time: an index on (key,
-- system_name) hands each page over from where the last one ended instead
-- of sorting every asset. The expiry key puts the never-rotated first
-- (store.neverRotated), so the order has no NULLs to page around.
-- host_platform has its index already (0004).
CREATE INDEX assets_expiry_order ON assets(COALESCE(certificate_expiration, -9223372036854775807), system_name);
CREATE INDEX assets_updated_order ON assets(updated_at, system_name);

-- A free-text search looks for a part of a name or an address in one
-- column (store.searchText), read from a covering index in name order.
-- It is in lower case; rows written from now on hold each name once.
ALTER TABLE assets ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE assets SET search_text = lower(system_name || ' ' || common_name || ' ' || ip_address || ' ' || sans);
CREATE INDEX assets_search ON assets(system_name, search_text);

-- The credential sets overview lists the assets that name each set; few
-- assets name one, so the index holds only those.
CREATE INDEX assets_credential ON assets(credential, system_name) WHERE credential <> '';

-- The dashboard shows an asset's, a user's or an actor's history: one
-- page of their events, newest first, found through the index instead of
-- a walk back through everyone's.
CREATE INDEX audit_events_resource ON audit_events(resource, id);
CREATE INDEX audit_events_actor ON audit_events(actor, id);
CREATE INDEX audit_events_action ON audit_events(action, id);
