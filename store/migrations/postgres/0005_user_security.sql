-- Every token carries the generation of its user at issue; the store
-- raises it when the password or the role changes, revoking older tokens.
-- Existing users start at 0, the generation of tokens without the claim.
ALTER TABLE users ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;
