-- The chain a device served before its rotation, kept on the rotation so
-- restore and ARI's "replaces" work after a crash or on another replica.
ALTER TABLE rotations ADD COLUMN previous_chain TEXT NOT NULL DEFAULT '';
