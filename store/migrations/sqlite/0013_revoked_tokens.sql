-- API tokens revoked before they expire (a sign-out). A row is needed only
-- until its token's expiry; revoking prunes the rows past theirs.
CREATE TABLE revoked_tokens (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);
