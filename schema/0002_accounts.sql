-- Accounts: case-insensitive usernames, password hashes, sessions for logout.
ALTER TABLE users
    ADD COLUMN password_hash text,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    DROP CONSTRAINT users_username_key;

CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE INDEX sessions_user ON sessions (user_id);
