-- Activity copies (schema/0010) that a concurrent send could leave stale.
--
-- The invariant of 0010: a non-NULL participants.activity_at equals its conversation's last_activity_at. Copies are
-- taken by the trigger on participants (a user who keeps copies joins a conversation, or a user reaches
-- many_conversations() and gets copies on all their rows) and kept up by the send statement, which updates the
-- conversation and, in the same statement, every copy it can see. Under READ COMMITTED a send sees only copies
-- committed before its statement began, so two interleavings broke the invariant:
-- - the trigger copied the activity, then a send moved it and committed without seeing the new copy (it was not
--   committed yet), then the trigger's transaction committed: the copy kept the older activity;
-- - a send's statement began, the trigger's transaction copied and committed, then the send updated the
--   conversation: its snapshot still did not show the copy.
-- Either way the conversation sat too low in that user's listing until its next message.
--
-- The fix makes the two meet on the conversation row, which both already write:
-- - the trigger takes its copies from the conversation rows it updates (setting `copies_taken_by` to its own
--   transaction), so it waits for a send that moved the activity and has not committed, and copies the moved value;
-- - a send whose update of the conversation row finds it marked by a transaction its snapshot does not see (it
--   waited for that transaction, or the row changed after the snapshot) says so in its result, and the server then
--   brings that conversation's copies forward in a statement of its own (a new snapshot), before it answers. Only
--   forward: a later send may have moved them further already. The check is an expression on the row the send
--   updates anyway: no extra read.
-- The transaction that last took participant copies of this conversation's activity (NULL: never).
ALTER TABLE conversations ADD COLUMN copies_taken_by xid8;

CREATE OR REPLACE FUNCTION participants_copy_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM participants WHERE user_id = NEW.user_id AND activity_at IS NOT NULL) THEN
        WITH c AS (
            UPDATE conversations SET copies_taken_by = pg_current_xact_id()
            WHERE id = NEW.conversation_id
            RETURNING id, last_activity_at
        )
        UPDATE participants p SET activity_at = c.last_activity_at
        FROM c WHERE p.user_id = NEW.user_id AND p.conversation_id = c.id;
    ELSIF (SELECT count(*) FROM (SELECT 1 FROM participants WHERE user_id = NEW.user_id LIMIT many_conversations()) s)
          >= many_conversations() THEN
        -- Many rows: lock them in one order, so two users crossing the threshold at once cannot deadlock.
        PERFORM 1 FROM conversations
        WHERE id IN (SELECT conversation_id FROM participants WHERE user_id = NEW.user_id)
        ORDER BY id FOR NO KEY UPDATE;
        WITH c AS (
            UPDATE conversations SET copies_taken_by = pg_current_xact_id()
            WHERE id IN (SELECT conversation_id FROM participants WHERE user_id = NEW.user_id)
            RETURNING id, last_activity_at
        )
        UPDATE participants p SET activity_at = c.last_activity_at
        FROM c WHERE p.user_id = NEW.user_id AND p.conversation_id = c.id;
    END IF;
    RETURN NULL;
END
$$;
