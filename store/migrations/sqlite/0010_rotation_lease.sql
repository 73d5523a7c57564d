-- Rotations are held by the worker running them, which renews the hold;
-- another process takes over a rotation whose holder stopped renewing
-- (killed, host lost) by moving it to a new epoch and queueing a job.
ALTER TABLE rotations ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE rotations ADD COLUMN lease_until INTEGER;
ALTER TABLE rotations ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
CREATE INDEX rotations_lease ON rotations(lease_until) WHERE lease_owner <> '' AND state IN ('queued', 'running');
-- Live rotations by age: the engine's sweep for rotations left without a
-- job (a crash between recording a rotation and queueing it).
CREATE INDEX rotations_live ON rotations(updated_at) WHERE state IN ('queued', 'running');
-- The failed rotation whose issued certificate this one installs instead
-- of ordering again; such a certificate is taken over once only.
ALTER TABLE rotations ADD COLUMN adopted_from TEXT NOT NULL DEFAULT '';
-- The CA's order, recorded before the CA is asked to sign: a rotation
-- interrupted after signing collects the certificate instead of ordering
-- another.
ALTER TABLE rotations ADD COLUMN order_url TEXT NOT NULL DEFAULT '';
