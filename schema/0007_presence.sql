-- Presence: who is online (a stream open on any live instance) and when people were last seen.
ALTER TABLE users ADD COLUMN last_seen_at timestamptz;

-- The online set is state, not history: unlogged (never in the WAL, emptied after a crash) and kept by the live
-- instances. An instance counts as alive while its heartbeat is recent; a dead one's rows are reaped by the others.
CREATE UNLOGGED TABLE presence_instances (
    id text PRIMARY KEY,
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNLOGGED TABLE presence_online (
    user_id bigint NOT NULL,
    instance_id text NOT NULL REFERENCES presence_instances ON DELETE CASCADE,
    PRIMARY KEY (user_id, instance_id)
);

CREATE INDEX presence_online_instance ON presence_online (instance_id);
