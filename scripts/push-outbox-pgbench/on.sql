-- The send statement with the push step (--push-webhook): the recipient is offline, so each message writes or updates its pending push_outbox row.
-- Kept as measured on 2026-11-25 (README, "Push notifications"): the send statement of that day. Today's adds the
-- activity copies (schema/0010, 0011); the statement the server runs is in PostgresConversationRepository+Send.swift.
\set cid :client_id + 1
\set uid 2 * :client_id + 1
WITH ins AS (
    INSERT INTO messages (content, user_id, conversation_id, client_id)
    SELECT 'hello there', :uid, :cid, NULL
    WHERE EXISTS (SELECT 1 FROM participants WHERE user_id = :uid AND conversation_id = :cid)
    ON CONFLICT (conversation_id, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
    RETURNING id, created_at
), conv AS (
    UPDATE conversations c SET last_message_id = ins.id, last_activity_at = greatest(c.last_activity_at, ins.created_at)
    FROM ins WHERE c.id = :cid AND (c.last_message_id IS NULL OR c.last_message_id < ins.id)
), reader AS (
    UPDATE participants p SET last_read_message_id = ins.id, messages_read_at = ins.created_at
    FROM ins WHERE p.user_id = :uid AND p.conversation_id = :cid
      AND (p.last_read_message_id IS NULL OR p.last_read_message_id < ins.id)
), push AS (
    INSERT INTO push_outbox (recipient_id, conversation_id, message_id, sender_id, next_attempt_at)
    SELECT p.user_id, :cid, ins.id, :uid, ins.created_at + 3::float8 * interval '1 second'
    FROM ins JOIN participants p ON p.conversation_id = :cid AND p.user_id <> :uid
    WHERE NOT EXISTS (
        SELECT 1 FROM presence_online po JOIN presence_instances pi ON pi.id = po.instance_id
        WHERE po.user_id = p.user_id AND pi.heartbeat_at >= now() - 20::float8 * interval '1 second'
    )
    ORDER BY p.user_id
    ON CONFLICT (recipient_id, conversation_id) WHERE state = 'pending' DO UPDATE
    SET message_id = greatest(push_outbox.message_id, excluded.message_id),
        sender_id = excluded.sender_id,
        message_count = push_outbox.message_count + 1
)
SELECT ins.id, ins.created_at, u.username, u.avatar_url FROM ins, users u WHERE u.id = :uid;
