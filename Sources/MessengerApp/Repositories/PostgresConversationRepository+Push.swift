import PostgresLibPQ

extension PostgresConversationRepository {
    /// The send statement with push notifications on: the same CTE plus one more step that records a push for every
    /// other participant with no open stream on any live instance (presence), in the same statement and therefore the
    /// same transaction as the message — a crash can never lose one. A pending push for the same recipient and
    /// conversation absorbs the message instead (coalescing: the count grows, the newest message is named).
    func sendWithPush(userID: Int64, conversationID: Int64, content: String, clientID: String?, window: Duration) -> PostgresQuery {
        let windowSeconds = Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18
        return """
            WITH ins AS (
                INSERT INTO messages (content, user_id, conversation_id, client_id)
                SELECT \(content), \(userID), \(conversationID), \(clientID)
                WHERE EXISTS (SELECT 1 FROM participants WHERE user_id = \(userID) AND conversation_id = \(conversationID))
                ON CONFLICT (conversation_id, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
                RETURNING id, created_at
            ), conv AS (
                UPDATE conversations c SET last_message_id = ins.id, last_activity_at = greatest(c.last_activity_at, ins.created_at)
                FROM ins WHERE c.id = \(conversationID) AND (c.last_message_id IS NULL OR c.last_message_id < ins.id)
            ), reader AS (
                UPDATE participants p SET last_read_message_id = ins.id, messages_read_at = ins.created_at
                FROM ins WHERE p.user_id = \(userID) AND p.conversation_id = \(conversationID)
                  AND (p.last_read_message_id IS NULL OR p.last_read_message_id < ins.id)
            ), push AS (
                INSERT INTO push_outbox (recipient_id, conversation_id, message_id, sender_id, next_attempt_at)
                SELECT p.user_id, \(conversationID), ins.id, \(userID), ins.created_at + \(windowSeconds)::float8 * interval '1 second'
                FROM ins JOIN participants p ON p.conversation_id = \(conversationID) AND p.user_id <> \(userID)
                WHERE NOT EXISTS (
                    SELECT 1 FROM presence_online po JOIN presence_instances pi ON pi.id = po.instance_id
                    WHERE po.user_id = p.user_id AND pi.heartbeat_at >= now() - \(self.deadAfterSeconds)::float8 * interval '1 second'
                )
                -- One order for every sender: concurrent sends to a group lock the pending rows in the same order.
                ORDER BY p.user_id
                ON CONFLICT (recipient_id, conversation_id) WHERE state = 'pending' DO UPDATE
                SET message_id = greatest(push_outbox.message_id, excluded.message_id),
                    sender_id = excluded.sender_id,
                    message_count = push_outbox.message_count + 1
            )
            SELECT ins.id, ins.created_at, u.username, u.avatar_url FROM ins, users u WHERE u.id = \(userID)
            """
    }
}
