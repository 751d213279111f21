-- Listing conversations without reading all of a user's conversations (issue 16), paid for only by the users who
-- need it.
--
-- A page of conversations used to read every conversation row of the user and sort them: fine for a user in a few
-- dozen conversations, 19 ms for one in 10,000. A copy of the conversation's activity on the user's participant row
-- (`activity_at`) with an index on (user_id, activity_at, conversation_id) serves the page straight from the index,
-- but every copy is one more row a send must update (with new index entries: the column is indexed). Measured with
-- a copy on every participant row of small conversations, 32 concurrent senders lost 25% of their throughput and a
-- foreign transaction tripled delivery latency. So only users in many conversations keep copies: a participant row
-- has one when its user is in at least many_conversations() conversations, and a send to a conversation updates
-- only the copies it has (none for two ordinary users: the send costs what it did). Everyone else's page reads
-- their few conversation rows, as before; the listing merges both sources (NULL = read the conversation row).
--
-- The invariant: a non-NULL participants.activity_at equals its conversation's last_activity_at. The send statement
-- updates both in one statement; a new participant row of a user who keeps copies takes one (trigger); a user
-- reaching many_conversations() gets copies on all their rows (trigger). A user who leaves conversations keeps
-- their copies (hysteresis: no flapping around the threshold). NULL is always correct, only slower.
CREATE FUNCTION many_conversations() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 100';

ALTER TABLE participants ADD COLUMN activity_at timestamptz;

-- The page of a user's conversations newest first, straight from the index for a user with copies; its NULLs (all
-- of an ordinary user's rows) are read through the conversation rows. It also serves every other lookup by user, so
-- the table keeps two indexes.
CREATE INDEX participants_activity ON participants (user_id, activity_at DESC, conversation_id DESC);
-- The primary key becomes (conversation_id, user_id), taking the place of participants_conversation (a
-- conversation's members; lookups of one member name both columns either way).
CREATE UNIQUE INDEX participants_conversation_user ON participants (conversation_id, user_id);
ALTER TABLE participants
    DROP CONSTRAINT participants_pkey,
    ADD CONSTRAINT participants_pkey PRIMARY KEY USING INDEX participants_conversation_user;
DROP INDEX participants_conversation;

-- Nothing reads conversations in global activity order; without this index the send's update of the conversation
-- row changes no indexed column and is a HOT update (no new index entries).
DROP INDEX conversations_activity;

-- Users already in many conversations get their copies now.
UPDATE participants p SET activity_at = c.last_activity_at
FROM conversations c
WHERE c.id = p.conversation_id
  AND p.user_id IN (SELECT user_id FROM participants GROUP BY user_id HAVING count(*) >= many_conversations());

-- A new participant row: a user who keeps copies takes one; a user who reaches the threshold with this row gets
-- copies on all their rows (the count stops at the threshold, so this costs at most that many index entries).
CREATE FUNCTION participants_copy_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM participants WHERE user_id = NEW.user_id AND activity_at IS NOT NULL) THEN
        UPDATE participants p SET activity_at = c.last_activity_at
        FROM conversations c
        WHERE p.user_id = NEW.user_id AND p.conversation_id = NEW.conversation_id AND c.id = p.conversation_id;
    ELSIF (SELECT count(*) FROM (SELECT 1 FROM participants WHERE user_id = NEW.user_id LIMIT many_conversations()) s)
          >= many_conversations() THEN
        UPDATE participants p SET activity_at = c.last_activity_at
        FROM conversations c
        WHERE p.user_id = NEW.user_id AND c.id = p.conversation_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER participants_copy_activity AFTER INSERT ON participants
    FOR EACH ROW EXECUTE FUNCTION participants_copy_activity();
