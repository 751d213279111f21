-- The tutorial's four tables, with the keys and indexes their queries need.
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    username text NOT NULL UNIQUE,
    avatar_url text
);

CREATE TABLE conversations (
    id bigserial PRIMARY KEY,
    last_message_id bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    content text NOT NULL,
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE conversations
    ADD CONSTRAINT conversations_last_message_fk FOREIGN KEY (last_message_id) REFERENCES messages ON DELETE SET NULL;

CREATE TABLE participants (
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    messages_read_at timestamptz,
    PRIMARY KEY (user_id, conversation_id)
);

-- A conversation's messages by id (paging), its participants (fan-out).
CREATE INDEX messages_conversation_id ON messages (conversation_id, id);
CREATE INDEX participants_conversation ON participants (conversation_id, user_id);
