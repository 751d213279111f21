-- Groups, activity ordering, read positions by message id, idempotent sends.
ALTER TABLE conversations
    ADD COLUMN title text,
    ADD COLUMN is_group boolean NOT NULL DEFAULT false,
    -- "<smaller user id>:<larger user id>" for 1:1 conversations: one conversation per pair, even under races.
    ADD COLUMN direct_key text UNIQUE,
    ADD COLUMN last_activity_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN participant_count integer NOT NULL DEFAULT 0;

ALTER TABLE participants
    ADD COLUMN last_read_message_id bigint,
    ADD COLUMN joined_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE messages
    ADD COLUMN client_id text;

-- A retried send with the same clientId finds the original.
CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, user_id, client_id) WHERE client_id IS NOT NULL;
-- Listing conversations by activity with a keyset cursor.
CREATE INDEX conversations_activity ON conversations (last_activity_at DESC, id DESC);
