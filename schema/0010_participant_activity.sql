-- Listing conversations without reading all of a user's conversations (issue 16).
--
-- A participant row carries its conversation's activity (`activity_at`), so an index on (user_id, activity_at,
-- conversation_id) serves a page of the newest conversations directly. Keeping it costs one row update per
-- participant on every send, so only conversations of at most participant_activity_limit() members keep it: for
-- larger groups the column is NULL and the listing reads their activity from the conversation row, merging the two
-- at read time (a send to a 1,000-member group still updates one conversation row, not 1,000 participant rows).
--
-- The invariant: a non-NULL participants.activity_at equals its conversation's last_activity_at. The send statement
-- updates both in one statement; a new participant row copies it (trigger below); a group growing past the limit
-- clears its rows (trigger below). NULL is always correct (the slower path), so anything that inserts participants
-- some other way stays correct.
CREATE FUNCTION participant_activity_limit() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 32';

ALTER TABLE participants ADD COLUMN activity_at timestamptz;

UPDATE participants p SET activity_at = c.last_activity_at
FROM conversations c
WHERE c.id = p.conversation_id AND c.participant_count <= participant_activity_limit();

-- The page of a user's small conversations, newest first, straight from the index; its NULLs are the user's large
-- groups (few per user), whose activity is read from the conversation row. It also serves every other lookup by
-- user, so the table keeps two indexes: every index is one more entry written by each participant row a send
-- updates (the activity is indexed, so those updates cannot be HOT).
CREATE INDEX participants_activity ON participants (user_id, activity_at DESC, conversation_id DESC);
-- The primary key becomes (conversation_id, user_id), taking the place of participants_conversation (a
-- conversation's members; lookups of one member name both columns either way).
CREATE UNIQUE INDEX participants_conversation_user ON participants (conversation_id, user_id);
ALTER TABLE participants
    DROP CONSTRAINT participants_pkey,
    ADD CONSTRAINT participants_pkey PRIMARY KEY USING INDEX participants_conversation_user;
DROP INDEX participants_conversation;

-- Nothing reads conversations in global activity order any more; without this index the send's update of the
-- conversation row changes no indexed column and can be a HOT update (no new index entries).
DROP INDEX conversations_activity;

-- A new participant row takes the conversation's activity while the conversation is small (its count before this
-- member: callers update participant_count after inserting, or set it when creating the conversation).
CREATE FUNCTION participants_copy_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT CASE WHEN c.participant_count <= participant_activity_limit() THEN c.last_activity_at END
    INTO NEW.activity_at
    FROM conversations c WHERE c.id = NEW.conversation_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER participants_copy_activity BEFORE INSERT ON participants
    FOR EACH ROW EXECUTE FUNCTION participants_copy_activity();

-- A group growing past the limit stops keeping activity on its participant rows. Should it shrink again, members
-- who join then get the activity while the others stay NULL: both are correct, and the rows a send updates stay at
-- most the limit (they are only added while the count is below it, and all cleared when it grows past it again).
CREATE FUNCTION conversations_large_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE participants SET activity_at = NULL WHERE conversation_id = NEW.id AND activity_at IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversations_large_activity AFTER UPDATE OF participant_count ON conversations
    FOR EACH ROW
    WHEN (NEW.participant_count > participant_activity_limit() AND OLD.participant_count <= participant_activity_limit())
    EXECUTE FUNCTION conversations_large_activity();
