-- The send statement without foreign-key checks on the rows it writes (issue 16).
--
-- Three foreign keys were checked on every send: messages.user_id → users and messages.conversation_id →
-- conversations on the INSERT, conversations.last_message_id → messages on the conversation's UPDATE. Each check is
-- an SPI query run as an after-trigger (`SELECT 1 … FOR KEY SHARE`) that also locks the referenced row (a WAL record
-- and a dirtied page each). `perf` on 32 senders put 12.6% of PostgreSQL's samples in them; pgbench running the send
-- statement with one client spent 12–17% less database CPU per message without them (README "Benchmarks").
--
-- None of the three can fail for a row the application writes: the only INSERT into messages is the send statement,
-- which inserts only when the sender's participant row exists (participants keeps its foreign keys to users and
-- conversations), and sets last_message_id to the id it has just inserted. What the constraints did besides
-- checking is kept here, by statement-level triggers that cost nothing on a send:
-- - deleting users or conversations deletes their messages (was ON DELETE CASCADE), TRUNCATE … CASCADE of either
--   empties messages;
-- - deleting messages moves each affected conversation's last_message_id to its newest remaining message (was ON
--   DELETE SET NULL, which left a conversation with messages showing none);
-- - the race the row locks closed: a send that saw the participant row just before a concurrent DELETE of the user
--   (or conversation) removed it would insert a message the DELETE's cascade no longer sees. A DELETE of users or
--   conversations therefore first takes SHARE on messages: it waits for the sends in flight to commit (their
--   messages are then deleted with the rest) and holds new sends until it commits (they then find no participant
--   row and insert nothing). The application never deletes users or conversations; this is for operators, whose
--   delete holds sends for as long as its transaction stays open.
ALTER TABLE messages DROP CONSTRAINT messages_user_id_fkey, DROP CONSTRAINT messages_conversation_id_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_last_message_fk;

CREATE FUNCTION messages_hold_sends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE messages IN SHARE MODE;
    RETURN NULL;
END $$;

CREATE TRIGGER users_hold_sends BEFORE DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION messages_hold_sends();
CREATE TRIGGER conversations_hold_sends BEFORE DELETE ON conversations
    FOR EACH STATEMENT EXECUTE FUNCTION messages_hold_sends();

CREATE FUNCTION users_delete_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM messages m USING deleted_users d WHERE m.user_id = d.id;
    RETURN NULL;
END $$;

CREATE TRIGGER users_delete_messages AFTER DELETE ON users REFERENCING OLD TABLE AS deleted_users
    FOR EACH STATEMENT EXECUTE FUNCTION users_delete_messages();

CREATE FUNCTION conversations_delete_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM messages m USING deleted_conversations d WHERE m.conversation_id = d.id;
    RETURN NULL;
END $$;

CREATE TRIGGER conversations_delete_messages AFTER DELETE ON conversations REFERENCING OLD TABLE AS deleted_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION conversations_delete_messages();

-- A conversation whose last message was deleted points at its newest remaining one (NULL when none is left). A send
-- that moves last_message_id concurrently wins: it locks the row first, or this update re-checks the row after it.
CREATE FUNCTION messages_move_last() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations c
    SET last_message_id = (SELECT max(m.id) FROM messages m WHERE m.conversation_id = c.id)
    WHERE c.last_message_id IN (SELECT id FROM deleted_messages);
    RETURN NULL;
END $$;

CREATE TRIGGER messages_move_last AFTER DELETE ON messages REFERENCING OLD TABLE AS deleted_messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_move_last();

-- TRUNCATE fires no DELETE triggers: TRUNCATE users CASCADE or conversations CASCADE (the remaining foreign keys
-- require CASCADE) empties messages as the constraints' cascade did, and emptying messages clears every
-- conversation's last message.
CREATE FUNCTION messages_truncate_with() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE messages;
    RETURN NULL;
END $$;

CREATE TRIGGER users_truncate_messages AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION messages_truncate_with();
CREATE TRIGGER conversations_truncate_messages AFTER TRUNCATE ON conversations
    FOR EACH STATEMENT EXECUTE FUNCTION messages_truncate_with();

CREATE FUNCTION messages_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET last_message_id = NULL WHERE last_message_id IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER messages_truncated AFTER TRUNCATE ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_truncated();
