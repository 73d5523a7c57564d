-- Router passes, newest kept: 'ottr status' and the dashboard say when the
-- router last looked at the fleet, even when a pass queued nothing.
CREATE TABLE router_passes (
  id          BIGSERIAL PRIMARY KEY,
  owner       TEXT NOT NULL,
  started_at  BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  examined    INTEGER NOT NULL,
  due         INTEGER NOT NULL,
  held        INTEGER NOT NULL,
  routed      INTEGER NOT NULL,
  unrouted    INTEGER NOT NULL,
  queued      INTEGER NOT NULL,
  joined      INTEGER NOT NULL,
  error       TEXT NOT NULL DEFAULT ''
);
