-- The realtime stream's committed order.
--
-- Every replayable event (a message, a read position, a membership change) gets an id from one sequence and the
-- id of the transaction that wrote it (xid8). Stream positions are (tx, id). A reader only takes rows whose
-- transaction is older than the oldest transaction still running (pg_snapshot_xmin of the current snapshot):
-- that prefix can never grow again, so a cursor never skips a row that commits late.
CREATE SEQUENCE stream_event_id_seq;
SELECT setval('stream_event_id_seq', greatest((SELECT max(id) FROM messages), 1));

ALTER TABLE messages
    ALTER COLUMN id SET DEFAULT nextval('stream_event_id_seq'),
    ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE INDEX messages_stream ON messages (tx, id);

CREATE TABLE stream_events (
    id bigint PRIMARY KEY DEFAULT nextval('stream_event_id_seq'),
    tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    -- 'read', 'created', 'joined', 'left'
    kind text NOT NULL,
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    message_id bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX stream_events_stream ON stream_events (tx, id);
