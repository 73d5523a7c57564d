-- A rotation keeps its CSR and the issued chain (both public), so a
-- rotation resumed after a crash installs the certificate it already has
-- instead of ordering another.
ALTER TABLE rotations ADD COLUMN csr TEXT NOT NULL DEFAULT '';
ALTER TABLE rotations ADD COLUMN chain TEXT NOT NULL DEFAULT '';
