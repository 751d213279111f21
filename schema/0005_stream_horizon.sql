-- The stream's safe prefix from this application's own writers only.
--
-- 0004 read only rows whose transaction was older than the snapshot's xmin. That horizon is the whole cluster's:
-- any transaction holding an xid anywhere (an idle `BEGIN; INSERT …` in psql, a batch job, a migration in another
-- database) held back every stream until it ended. Now the horizon is the lowest transaction id that is still
-- running on one of *our* connections (application_name 'messenger', this database), else the snapshot's xmax.
--
-- Why it is exact:
--   t0  take a snapshot S: every xid below xmax(S) is either finished or listed in xip(S).
--   t1  read the xids our connections hold now (pg_stat_activity, after S).
--   h = min(xip(S) ∩ ours-at-t1), else xmax(S).
--   t2  read the events with tx < h in a *later* snapshot.
-- An event-writing transaction of ours with xid < h was either finished at t0, or in xip(S) and gone by t1 (else
-- h would be at most its xid): either way it is finished before t2, so its rows are visible to the read at t2 and
-- can never commit behind a cursor. A transaction that gets its xid after t0 gets one at or above xmax(S) ≥ h.
-- Foreign transactions never lower h. A writer whose process died is aborted by PostgreSQL as soon as its socket
-- closes, so it holds nobody back for longer than its statement runs.
ALTER TABLE stream_events
    ADD CONSTRAINT stream_events_kind CHECK (kind IN ('read', 'created', 'joined', 'left'));

-- Both kinds of replayable rows in one committed order: (tx, id).
CREATE VIEW stream_rows AS
    SELECT m.tx, m.id, m.conversation_id, 'message'::text AS kind, m.user_id, m.id AS message_id, m.content,
           m.created_at, m.client_id
    FROM messages m
    UNION ALL
    SELECT e.tx, e.id, e.conversation_id, e.kind, e.user_id, e.message_id, NULL::text, e.created_at, NULL::text
    FROM stream_events e;

-- The horizon (see above). VOLATILE: the snapshot and the activity read are separate steps, in this order.
CREATE FUNCTION stream_horizon() RETURNS xid8
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    snap pg_snapshot := pg_current_snapshot();
    ours bigint[];
BEGIN
    -- Nothing running anywhere (the common case on a quiet cluster): no need to ask whose transactions they are.
    IF NOT EXISTS (SELECT 1 FROM pg_snapshot_xip(snap)) THEN
        RETURN pg_snapshot_xmax(snap);
    END IF;
    -- pg_stat_activity is cached per transaction; this read must be fresh.
    PERFORM pg_stat_clear_snapshot();
    SELECT coalesce(array_agg(a.backend_xid::text::bigint), '{}') INTO ours
    FROM pg_stat_get_activity(NULL) a
    WHERE a.application_name = 'messenger'
      AND a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND a.backend_xid IS NOT NULL;
    -- backend_xid is a 32-bit xid; the snapshot lists full xid8 values, which match on their low 32 bits.
    RETURN coalesce(
        (SELECT min(x) FROM pg_snapshot_xip(snap) x WHERE (x::text::bigint & 4294967295) = ANY (ours)),
        pg_snapshot_xmax(snap)
    );
END
$$;

-- The dispatcher's one round trip: the complete events after a position (at most max_rows, in order), then one
-- trailer row (event columns NULL) with the horizon and whether rows of ours wait behind it.
CREATE FUNCTION stream_after(after_tx xid8, after_id bigint, max_rows integer)
RETURNS TABLE (
    tx xid8, id bigint, conversation_id bigint, kind text, user_id bigint, message_id bigint, content text,
    created_at timestamptz, client_id text, username text, avatar_url text, horizon xid8, pending boolean
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    h xid8 := stream_horizon();
BEGIN
    -- A new statement, so a snapshot taken after the horizon was computed.
    RETURN QUERY
        SELECT x.tx, x.id, x.conversation_id, x.kind, x.user_id, x.message_id, x.content, x.created_at, x.client_id,
               u.username, u.avatar_url, NULL::xid8, NULL::boolean
        FROM stream_rows x JOIN users u ON u.id = x.user_id
        WHERE (x.tx, x.id) > (after_tx, after_id) AND x.tx < h
        ORDER BY x.tx, x.id
        LIMIT max_rows;
    RETURN QUERY
        SELECT NULL::xid8, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint, NULL::text,
               NULL::timestamptz, NULL::text, NULL::text, NULL::text, h,
               EXISTS (SELECT 1 FROM stream_rows x WHERE (x.tx, x.id) > (after_tx, after_id) AND x.tx >= h);
END
$$;

-- What a stream position is signed with besides the server's key: a position from another database never
-- verifies, even where two deployments share a key.
CREATE TABLE stream_identity (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    token text NOT NULL DEFAULT gen_random_uuid()::text
);
INSERT INTO stream_identity DEFAULT VALUES;
