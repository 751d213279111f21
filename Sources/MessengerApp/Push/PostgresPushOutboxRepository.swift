import Foundation
import PostgresLibPQ

/// ``PushOutboxRepository`` on the `push_outbox` table (schema/0008).
public struct PostgresPushOutboxRepository: PushOutboxRepository {
    let pool: PostgresConnectionPool
    /// Presence: an instance silent this long counts as dead (its users are offline).
    let presenceDeadAfter: Duration

    public init(pool: PostgresConnectionPool, presenceDeadAfter: Duration) {
        self.pool = pool
        self.presenceDeadAfter = presenceDeadAfter
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    public func claim(limit: Int, lease: Duration) async throws -> [PushNotification] {
        // One statement (one transaction): lock the due rows no other worker holds, drop those that became pointless,
        // lease the others ('sending' until next_attempt_at) and return them with their payload's facts. The lease
        // is committed before any HTTP request, so no lock is held while the receiver answers (a send folding a new
        // message into a pending row never waits for a delivery); a worker that dies mid-delivery leaves a lease
        // that expires, and the row is taken again (at-least-once).
        let rows = try await self.pool.query(
            """
            WITH due AS (
                SELECT id FROM push_outbox
                WHERE state IN ('pending', 'sending') AND next_attempt_at <= now()
                ORDER BY next_attempt_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), checked AS (
                SELECT o.id, (
                    p.user_id IS NULL
                    OR coalesce(p.last_read_message_id, 0) >= o.message_id
                    OR EXISTS (
                        SELECT 1 FROM presence_online po JOIN presence_instances pi ON pi.id = po.instance_id
                        WHERE po.user_id = o.recipient_id
                          AND pi.heartbeat_at >= now() - \(Self.seconds(self.presenceDeadAfter))::float8 * interval '1 second'
                    )
                ) AS pointless
                FROM due JOIN push_outbox o ON o.id = due.id
                LEFT JOIN participants p ON p.user_id = o.recipient_id AND p.conversation_id = o.conversation_id
            ), dropped AS (
                UPDATE push_outbox o SET state = 'dropped', finished_at = now()
                FROM checked c WHERE o.id = c.id AND c.pointless
            ), claimed AS (
                UPDATE push_outbox o
                SET state = 'sending', attempts = o.attempts + 1,
                    next_attempt_at = now() + \(Self.seconds(lease))::float8 * interval '1 second'
                FROM checked c WHERE o.id = c.id AND NOT c.pointless
                RETURNING o.id, o.recipient_id, o.conversation_id, o.message_id, o.sender_id, o.message_count, o.attempts,
                          o.idempotency_key, o.created_at
            )
            SELECT c.id, c.recipient_id, ru.username, c.conversation_id, conv.title, c.message_id, c.sender_id, su.username,
                   left(coalesce(m.content, ''), 120), c.message_count, c.attempts, c.idempotency_key::text, c.created_at,
                   (SELECT count(*) FROM (
                        SELECT 1 FROM messages um
                        WHERE um.conversation_id = c.conversation_id AND um.user_id <> c.recipient_id
                          AND um.id > coalesce(rp.last_read_message_id, 0)
                        LIMIT 1000
                   ) x)::bigint
            FROM claimed c
            JOIN users ru ON ru.id = c.recipient_id
            JOIN users su ON su.id = c.sender_id
            JOIN conversations conv ON conv.id = c.conversation_id
            LEFT JOIN participants rp ON rp.user_id = c.recipient_id AND rp.conversation_id = c.conversation_id
            LEFT JOIN messages m ON m.id = c.message_id
            ORDER BY c.id
            """
        )
        return try rows.map { row in
            let (id, recipientID, recipientName, conversationID, title, messageID, senderID) = try row.decode(
                (Int64, Int64, String, Int64, String?, Int64, Int64).self
            )
            let (senderName, preview, count, attempt, key, createdAt, unread) = try row.decode(
                (String, String, Int, Int, String, Date, Int64).self,
                from: 7
            )
            return PushNotification(
                id: id,
                recipientID: recipientID,
                recipientUsername: recipientName,
                conversationID: conversationID,
                conversationTitle: title,
                messageID: messageID,
                senderID: senderID,
                senderUsername: senderName,
                preview: preview,
                messageCount: count,
                unreadCount: Int(unread),
                attempt: attempt,
                idempotencyKey: key,
                createdAt: createdAt
            )
        }
    }

    public func secondsUntilNextDue() async throws -> Double? {
        let rows = try await self.pool.query(
            """
            SELECT greatest(extract(epoch FROM min(next_attempt_at) - now()), 0)::float8
            FROM push_outbox WHERE state IN ('pending', 'sending')
            """
        )
        return try rows.first?.decode(Double?.self, at: 0)
    }

    public func markDelivered(id: Int64) async throws {
        try await self.pool.query(
            "UPDATE push_outbox SET state = 'delivered', finished_at = now(), last_error = NULL WHERE id = \(id) AND state = 'sending'"
        )
    }

    public func markDead(id: Int64, error: String) async throws {
        try await self.pool.query(
            "UPDATE push_outbox SET state = 'dead', finished_at = now(), last_error = \(error) WHERE id = \(id) AND state = 'sending'"
        )
    }

    public func retry(id: Int64, after delay: Duration, giveUpAfter: Duration, error: String) async throws {
        // A newer pending row for the same recipient and conversation (a message sent while this one was being
        // delivered) takes over this one's count, so the unique pending row stays unique and nothing is announced
        // twice; otherwise this row waits for its next attempt, or is given up.
        try await self.pool.query(
            """
            WITH old AS (
                SELECT id, recipient_id, conversation_id, message_count,
                       created_at < now() - \(Self.seconds(giveUpAfter))::float8 * interval '1 second' AS expired
                FROM push_outbox WHERE id = \(id) AND state = 'sending'
                FOR UPDATE
            ), merged AS (
                UPDATE push_outbox n SET message_count = n.message_count + old.message_count
                FROM old
                WHERE NOT old.expired AND n.recipient_id = old.recipient_id AND n.conversation_id = old.conversation_id
                  AND n.state = 'pending'
                RETURNING n.id
            )
            UPDATE push_outbox o
            SET state = CASE WHEN old.expired THEN 'dead' WHEN EXISTS (SELECT 1 FROM merged) THEN 'dropped' ELSE 'pending' END,
                finished_at = CASE WHEN old.expired OR EXISTS (SELECT 1 FROM merged) THEN now() END,
                next_attempt_at = now() + \(Self.seconds(delay))::float8 * interval '1 second',
                last_error = \(error)
            FROM old WHERE o.id = old.id
            """
        )
    }

    public func removeFinished(olderThan age: Duration) async throws {
        try await self.pool.query(
            "DELETE FROM push_outbox WHERE finished_at < now() - \(Self.seconds(age))::float8 * interval '1 second'"
        )
    }
}
