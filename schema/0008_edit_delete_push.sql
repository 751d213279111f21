-- Edited and deleted messages, and the outbox of push notifications for offline recipients.

-- A deleted message stays as a tombstone (paging, unread counts and read positions keep their ids): its content is
-- emptied in the row itself, not hidden, so nothing (search included) can find it again.
ALTER TABLE messages
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN deleted_at timestamptz;

-- Edits and deletions are stream events like the others: a row in stream_events (same sequence, same xid8
-- position), so they are delivered in the committed order and replayed on resume.
ALTER TABLE stream_events DROP CONSTRAINT stream_events_kind;
ALTER TABLE stream_events
    ADD CONSTRAINT stream_events_kind CHECK (kind IN ('read', 'created', 'joined', 'left', 'updated', 'deleted'));

-- An 'updated' or 'deleted' row carries the message's *current* state (read from the message at delivery time), so
-- an event never keeps text the author removed: a resumed client learns the latest content, or the tombstone.
-- New columns only at the end (CREATE OR REPLACE VIEW keeps the old ones), so instances of the previous version keep
-- working during a rolling upgrade.
CREATE OR REPLACE VIEW stream_rows AS
    SELECT m.tx, m.id, m.conversation_id, 'message'::text AS kind, m.user_id, m.id AS message_id, m.content,
           m.created_at, m.client_id, m.edited_at, m.deleted_at IS NOT NULL AS deleted, m.created_at AS message_created_at
    FROM messages m
    UNION ALL
    SELECT e.tx, e.id, e.conversation_id, e.kind, e.user_id, e.message_id, em.content, e.created_at, em.client_id,
           em.edited_at, em.deleted_at IS NOT NULL, em.created_at
    FROM stream_events e
    LEFT JOIN messages em ON em.id = e.message_id AND e.kind IN ('updated', 'deleted');

-- The same function as in 0005 with the message state columns after the trailer's, so the trailer keeps its place
-- for the previous version's readers.
DROP FUNCTION stream_after(xid8, bigint, integer);
CREATE FUNCTION stream_after(after_tx xid8, after_id bigint, max_rows integer)
RETURNS TABLE (
    tx xid8, id bigint, conversation_id bigint, kind text, user_id bigint, message_id bigint, content text,
    created_at timestamptz, client_id text, username text, avatar_url text, horizon xid8, pending boolean,
    edited_at timestamptz, deleted boolean, message_created_at timestamptz
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    h xid8 := stream_horizon();
BEGIN
    -- A new statement, so a snapshot taken after the horizon was computed.
    RETURN QUERY
        SELECT x.tx, x.id, x.conversation_id, x.kind, x.user_id, x.message_id, x.content, x.created_at, x.client_id,
               u.username, u.avatar_url, NULL::xid8, NULL::boolean, x.edited_at, x.deleted, x.message_created_at
        FROM stream_rows x JOIN users u ON u.id = x.user_id
        WHERE (x.tx, x.id) > (after_tx, after_id) AND x.tx < h
        ORDER BY x.tx, x.id
        LIMIT max_rows;
    RETURN QUERY
        SELECT NULL::xid8, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint, NULL::text,
               NULL::timestamptz, NULL::text, NULL::text, NULL::text, h,
               EXISTS (SELECT 1 FROM stream_rows x WHERE (x.tx, x.id) > (after_tx, after_id) AND x.tx >= h),
               NULL::timestamptz, NULL::boolean, NULL::timestamptz;
END
$$;

-- Push notifications for recipients with no open stream on any instance, written in the same transaction as the
-- message (a crash never loses one). One pending row per recipient and conversation: later messages within the
-- coalescing window fold into it (message_count, latest message), so a burst becomes one push.
CREATE TABLE push_outbox (
    id bigserial PRIMARY KEY,
    recipient_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    message_id bigint NOT NULL,
    sender_id bigint NOT NULL,
    message_count integer NOT NULL DEFAULT 1,
    -- 'pending' (waiting for its time), 'sending' (claimed by a worker until next_attempt_at: its lease; a crashed
    -- worker's rows are taken again after it), then 'delivered', 'dead' (given up), or 'dropped' (the recipient read
    -- the conversation or came online first, or a newer push for the same conversation took over its count).
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'delivered', 'dead', 'dropped')),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The worker takes a pending row once this has passed: the end of the coalescing window, then each retry.
    next_attempt_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    -- The idempotency key the receiver sees on every attempt of this push.
    idempotency_key uuid NOT NULL DEFAULT gen_random_uuid(),
    finished_at timestamptz
);

-- At most one pending push per recipient and conversation: the coalescing point.
CREATE UNIQUE INDEX push_outbox_pending ON push_outbox (recipient_id, conversation_id) WHERE state = 'pending';
-- The worker's scan.
CREATE INDEX push_outbox_due ON push_outbox (next_attempt_at) WHERE state IN ('pending', 'sending');
-- Clean-up of finished rows.
CREATE INDEX push_outbox_finished ON push_outbox (finished_at) WHERE finished_at IS NOT NULL;

-- Group history reads membership rows only; edits and deletions are not history lines.
DROP INDEX stream_events_membership;
CREATE INDEX stream_events_membership ON stream_events (conversation_id, id DESC) WHERE kind IN ('created', 'joined', 'left');
