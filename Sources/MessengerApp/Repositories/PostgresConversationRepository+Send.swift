import PostgresLibPQ

extension PostgresConversationRepository {
    /// The one send statement. Its steps commit together:
    /// - `ins`: the message, if the sender is a participant (a retried `clientId` inserts nothing);
    /// - `conv`: the conversation's last message and activity, only moving forward;
    /// - `members`: one update of the conversation's participant rows — the sender's read position, and the activity
    ///   copy (schema/0010) of every row that keeps one (only users in many conversations do: usually none), set to
    ///   the value `conv` wrote so the copy always equals the conversation's. One UPDATE for both: a statement may
    ///   not update the same row twice;
    /// - `push`, only with push notifications on (``pushStep``).
    ///
    /// The last column says whether `members` may have missed activity copies: the conversation row `conv` updated was
    /// marked by a transaction that took copies and that this statement's snapshot does not see (schema/0011), so
    /// ``bringCopiesForward(conversationID:)`` must repair them. An expression on the row `conv` writes anyway, so the
    /// check costs no read (a second read of the conversation row measurably cost database CPU with 32 senders).
    func sendStatement(userID: Int64, conversationID: Int64, content: String, clientID: String?) -> PostgresQuery {
        """
        WITH ins AS (
            INSERT INTO messages (content, user_id, conversation_id, client_id)
            SELECT \(content), \(userID), \(conversationID), \(clientID)
            WHERE EXISTS (SELECT 1 FROM participants WHERE user_id = \(userID) AND conversation_id = \(conversationID))
            ON CONFLICT (conversation_id, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
            RETURNING id, created_at, conversation_id, user_id
        ), conv AS (
            UPDATE conversations c SET last_message_id = ins.id, last_activity_at = greatest(c.last_activity_at, ins.created_at)
            FROM ins WHERE c.id = \(conversationID) AND (c.last_message_id IS NULL OR c.last_message_id < ins.id)
            RETURNING c.last_activity_at,
                      c.copies_taken_by IS NOT NULL AND NOT pg_visible_in_snapshot(c.copies_taken_by, pg_current_snapshot()) AS missed_copies
        ), members AS (
            UPDATE participants p
            SET activity_at = CASE WHEN p.activity_at IS NULL THEN NULL ELSE coalesce(conv.last_activity_at, p.activity_at) END,
                last_read_message_id = CASE WHEN p.user_id = \(userID) AND (p.last_read_message_id IS NULL OR p.last_read_message_id < ins.id)
                                            THEN ins.id ELSE p.last_read_message_id END,
                messages_read_at = CASE WHEN p.user_id = \(userID) AND (p.last_read_message_id IS NULL OR p.last_read_message_id < ins.id)
                                        THEN ins.created_at ELSE p.messages_read_at END
            FROM ins LEFT JOIN conv ON true
            WHERE p.conversation_id = \(conversationID)
              AND ((p.user_id = \(userID) AND (p.last_read_message_id IS NULL OR p.last_read_message_id < ins.id))
                   OR (p.activity_at IS NOT NULL AND conv.last_activity_at IS NOT NULL AND p.activity_at <> conv.last_activity_at))
        )\(unsafeRaw: self.pushStep)
        SELECT ins.id, ins.created_at, u.username, u.avatar_url, coalesce((SELECT missed_copies FROM conv), false)
        FROM ins, users u WHERE u.id = \(userID)
        """
    }

    /// Moves a conversation's activity copies up to its activity, after a send that could not see some of them (see
    /// ``sendStatement(userID:conversationID:content:clientID:)``). A statement of its own, so its snapshot shows the
    /// copies that transaction committed; only forward, since a later send may have moved them further already.
    func bringCopiesForward(conversationID: Int64) async throws {
        try await self.pool.query(
            """
            UPDATE participants p SET activity_at = c.last_activity_at
            FROM conversations c
            WHERE c.id = \(conversationID) AND p.conversation_id = \(conversationID) AND p.activity_at < c.last_activity_at
            """
        )
    }

    /// The send statement's push step, or nothing with push notifications off: a push for every other participant
    /// with no open stream on any live instance (presence), in the same transaction as the message so a crash never
    /// loses one. A pending push for the same recipient and conversation absorbs the message instead (coalescing:
    /// the count grows, the newest message is named).
    ///
    /// Absent rather than switched off by a bind: a step that is never executed still makes every send open and lock
    /// `push_outbox`, the presence tables and their indexes; past 16 relations a transaction's locks leave
    /// PostgreSQL's per-backend fast path for the shared lock table, which 32 concurrent senders measurably contend
    /// on (measured: 0.56 → 0.36 ms of database CPU per message with 32 senders). It has no binds (it reads the message from `ins`); the two numbers are the server's configuration.
    var pushStep: String {
        guard let window = self.pushCoalesceWindow else { return "" }
        let windowSeconds = Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18
        return """
            , push AS (
                INSERT INTO push_outbox (recipient_id, conversation_id, message_id, sender_id, next_attempt_at)
                SELECT p.user_id, ins.conversation_id, ins.id, ins.user_id, ins.created_at + \(windowSeconds)::float8 * interval '1 second'
                FROM ins JOIN participants p ON p.conversation_id = ins.conversation_id AND p.user_id <> ins.user_id
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
            """
    }
}
