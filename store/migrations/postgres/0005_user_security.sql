-- Every token carries the generation of its user at issue; the store
-- raises it when the password or the role changes, revoking older tokens.
-- Existing users start at 0, the generation of tokens without the claim.
ALTER TABLE users ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;
-- User names are case-insensitive. Before this runs, Go code
-- (store/user_migrate.go) has lower-cased existing names, or refused to
-- migrate if two differ only in case. Names are stored normalised; this
-- index keeps "ADMIN" out beside "admin" even if a row is written without
-- that normalisation. COLLATE "C" folds ASCII only, as Ottr does.
CREATE UNIQUE INDEX users_username_lower ON users ((lower(username COLLATE "C")));
