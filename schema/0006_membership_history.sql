-- Group history lines ("bob added carol") come from the membership rows of stream_events. Who added someone is
-- recorded with the 'joined' row (NULL for older rows and for the other kinds, whose actor is user_id itself).
ALTER TABLE stream_events ADD COLUMN actor_id bigint REFERENCES users ON DELETE SET NULL;

-- GET /api/conversations/{id}/events reads one conversation's membership rows, newest first.
CREATE INDEX stream_events_membership ON stream_events (conversation_id, id DESC) WHERE kind <> 'read';
