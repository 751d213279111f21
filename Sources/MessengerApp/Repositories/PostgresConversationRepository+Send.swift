import Foundation
import PostgresLibPQ

extension PostgresConversationRepository {
    /// Stores the messages of one send or of a batch (``SendBatcher``): the outcome of each, in order; nil for a send
    /// that inserted nothing (not a participant, or a retried `clientId`).
    ///
    /// `bounded`: the statement waits for a row lock at most ``sendLockTimeout`` (SQLSTATE 55P03 after it).
    func store(_ sends: [MessageSend], bounded: Bool) async throws -> [StoredSend?] {
        self.metrics?.sendStatement(sends: sends.count, inSlot: bounded)
        if sends.count == 1, let send = sends.first {
            let rows = try await self.pool.query(
                self.sendStatement(
                    userID: send.userID, conversationID: send.conversationID, content: send.content, clientID: send.clientID,
                    bounded: bounded)
            )
            guard let row = rows.first else { return [nil] }
            let (id, createdAt, username, avatar, missedCopies) = try row.decode((Int64, Date, String, String?, Bool).self)
            return [StoredSend(id: id, createdAt: createdAt, username: username, avatarURL: avatar, missedCopies: missedCopies)]
        }
        var outcomes = [StoredSend?](repeating: nil, count: sends.count)
        for row in try await self.pool.query(self.sendBatchStatement(sends, bounded: bounded)) {
            let (ordinal, id, createdAt, username, avatar, missedCopies) = try row.decode((Int64, Int64, Date, String, String?, Bool).self)
            outcomes[Int(ordinal) - 1] = StoredSend(id: id, createdAt: createdAt, username: username, avatarURL: avatar, missedCopies: missedCopies)
        }
        return outcomes
    }

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
    ///
    /// `bounded`: the statement waits for a row lock at most ``sendLockTimeout``, set for its own transaction before it
    /// takes any (a statement in one of ``SendBatcher``'s slots); otherwise as long as it takes.
    func sendStatement(userID: Int64, conversationID: Int64, content: String, clientID: String?, bounded: Bool = false) -> PostgresQuery {
        """
        WITH ins AS (
            INSERT INTO messages (content, user_id, conversation_id, client_id)
            SELECT \(content), \(userID), \(conversationID), \(clientID)
            WHERE EXISTS (SELECT 1 FROM participants WHERE user_id = \(userID) AND conversation_id = \(conversationID))\(unsafeRaw: self.lockTimeoutCondition(bounded))
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

    /// How long, unless a repository is given another ``sendLockTimeout``, a send statement in one of ``SendBatcher``'s
    /// slots waits for a row lock before it gives up and its sends run alone: far above a commit here (~1 ms, a slow
    /// disk's flush 100–300 ms), far below a transaction left open.
    public static let defaultSendLockTimeout = Duration.milliseconds(500)

    /// `AND set_config('lock_timeout', …, true)` for the insert's condition, or nothing: evaluated before the statement
    /// locks any row (every later step reads the insert's result), and local to the statement's own transaction.
    /// Raw text (no bind): the value is a whole number of milliseconds fixed when the repository is made, and keeps the
    /// statement one prepared plan.
    func lockTimeoutCondition(_ bounded: Bool) -> String {
        bounded ? self.boundedLockCondition : ""
    }

    /// The condition of ``lockTimeoutCondition(_:)`` for a bounded statement, made once per repository.
    static func boundedLockCondition(_ timeout: Duration) -> String {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        return " AND set_config('lock_timeout', '\(milliseconds)ms', true) IS NOT NULL"
    }

    /// The send statement for several sends at once (``SendBatcher``): the same steps as
    /// ``sendStatement(userID:conversationID:content:clientID:bounded:)``, each over all of the batch's messages.
    /// - `input`: the sends in order, each with its message id taken up front, so that every answer row names the send
    ///   it belongs to (a send that inserts nothing — not a participant, or a retried `clientId`, also within the
    ///   batch — has no answer row and is looked at by itself afterwards);
    /// - `locked`: the batch's conversations, locked in the order of their ids once every message is inserted, before
    ///   anything else of the statement locks a row. Every other row it updates (a conversation's, its participants')
    ///   is updated under its conversation's lock, so two statements can never each hold a row the other waits for.
    ///   Left to the plan, `conv` locked them in hash order, which differs between batches of different sizes: with
    ///   32 connections sending to shared conversations, 27–141 statements in 10 s waited for each other until the lock
    ///   timeout (a deadlock) and their sends took ~0.5 s. Inserting first keeps a wait on another statement's
    ///   not-yet-committed `clientId` outside any lock too;
    /// - `conv`: each conversation once, with the batch's newest message in it;
    /// - `members`: each participant row once — a sender's read position moves to their newest message of the batch,
    ///   activity copies to their conversation's activity (a statement may not update a row twice, hence `targets`);
    /// - `push` (with push on, ``pushStep``): one pending push per recipient and conversation, counting the batch's
    ///   messages to them.
    func sendBatchStatement(_ sends: [MessageSend], bounded: Bool = false) -> PostgresQuery {
        let contents = sends.map(\.content)
        let users = sends.map(\.userID)
        let conversations = sends.map(\.conversationID)
        let clients = sends.map(\.clientID)
        return """
            WITH input AS MATERIALIZED (
                SELECT nextval('stream_event_id_seq') AS id, t.content, t.user_id, t.conversation_id, t.client_id, t.ord
                FROM unnest(\(contents)::text[], \(users)::int8[], \(conversations)::int8[], \(clients)::text[])
                     WITH ORDINALITY AS t(content, user_id, conversation_id, client_id, ord)
                WHERE true\(unsafeRaw: self.lockTimeoutCondition(bounded))
            ), ins AS (
                INSERT INTO messages (id, content, user_id, conversation_id, client_id)
                SELECT i.id, i.content, i.user_id, i.conversation_id, i.client_id FROM input i
                WHERE EXISTS (SELECT 1 FROM participants p WHERE p.user_id = i.user_id AND p.conversation_id = i.conversation_id)
                ORDER BY i.ord
                ON CONFLICT (conversation_id, user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
                RETURNING id, created_at, conversation_id, user_id
            ), locked AS MATERIALIZED (
                SELECT c.id FROM conversations c WHERE c.id IN (SELECT conversation_id FROM ins)
                ORDER BY c.id FOR NO KEY UPDATE
            ), last AS (
                SELECT ins.conversation_id, max(ins.id) AS id, max(ins.created_at) AS created_at
                FROM ins JOIN locked ON locked.id = ins.conversation_id GROUP BY ins.conversation_id
            ), conv AS (
                UPDATE conversations c SET last_message_id = l.id, last_activity_at = greatest(c.last_activity_at, l.created_at)
                FROM last l WHERE c.id = l.conversation_id AND (c.last_message_id IS NULL OR c.last_message_id < l.id)
                RETURNING c.id, c.last_activity_at,
                          c.copies_taken_by IS NOT NULL AND NOT pg_visible_in_snapshot(c.copies_taken_by, pg_current_snapshot()) AS missed_copies
            ), readers AS (
                SELECT conversation_id, user_id, max(id) AS id, max(created_at) AS created_at FROM ins GROUP BY conversation_id, user_id
            ), targets AS (
                SELECT p.conversation_id, p.user_id, r.id AS read_id, r.created_at AS read_at, conv.last_activity_at AS activity
                FROM last l JOIN participants p ON p.conversation_id = l.conversation_id
                LEFT JOIN readers r ON r.conversation_id = p.conversation_id AND r.user_id = p.user_id
                LEFT JOIN conv ON conv.id = p.conversation_id
                WHERE r.id IS NOT NULL OR (p.activity_at IS NOT NULL AND conv.last_activity_at IS NOT NULL)
            ), members AS (
                UPDATE participants p
                SET activity_at = CASE WHEN p.activity_at IS NULL THEN NULL ELSE coalesce(t.activity, p.activity_at) END,
                    last_read_message_id = CASE WHEN t.read_id IS NOT NULL AND (p.last_read_message_id IS NULL OR p.last_read_message_id < t.read_id)
                                                THEN t.read_id ELSE p.last_read_message_id END,
                    messages_read_at = CASE WHEN t.read_id IS NOT NULL AND (p.last_read_message_id IS NULL OR p.last_read_message_id < t.read_id)
                                            THEN t.read_at ELSE p.messages_read_at END
                FROM targets t
                WHERE p.conversation_id = t.conversation_id AND p.user_id = t.user_id
                  AND ((t.read_id IS NOT NULL AND (p.last_read_message_id IS NULL OR p.last_read_message_id < t.read_id))
                       OR (p.activity_at IS NOT NULL AND t.activity IS NOT NULL AND p.activity_at <> t.activity))
            )\(unsafeRaw: self.pushStep)
            SELECT i.ord, ins.id, ins.created_at, u.username, u.avatar_url, coalesce(conv.missed_copies, false)
            FROM ins JOIN input i ON i.id = ins.id JOIN users u ON u.id = ins.user_id LEFT JOIN conv ON conv.id = ins.conversation_id
            """
    }

    /// The send statement's push step, or nothing with push notifications off: a push for every other participant
    /// with no open stream on any live instance (presence), in the same transaction as the message so a crash never
    /// loses one. A pending push for the same recipient and conversation absorbs the message instead (coalescing:
    /// the count grows, the newest message is named). One row per recipient and conversation — the newest message
    /// not their own and how many of the statement's messages there are to them — since one statement may not update
    /// a pending row twice (a batch; for one send it is one row per recipient anyway).
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
                INSERT INTO push_outbox (recipient_id, conversation_id, message_id, sender_id, next_attempt_at, message_count)
                SELECT DISTINCT ON (p.user_id, ins.conversation_id)
                       p.user_id, ins.conversation_id, ins.id, ins.user_id, ins.created_at + \(windowSeconds)::float8 * interval '1 second',
                       count(*) OVER (PARTITION BY p.user_id, ins.conversation_id)
                FROM ins JOIN participants p ON p.conversation_id = ins.conversation_id AND p.user_id <> ins.user_id
                WHERE NOT EXISTS (
                    SELECT 1 FROM presence_online po JOIN presence_instances pi ON pi.id = po.instance_id
                    WHERE po.user_id = p.user_id AND pi.heartbeat_at >= now() - \(self.deadAfterSeconds)::float8 * interval '1 second'
                )
                -- One order for every sender: concurrent sends lock the pending rows in the same order.
                ORDER BY p.user_id, ins.conversation_id, ins.id DESC
                ON CONFLICT (recipient_id, conversation_id) WHERE state = 'pending' DO UPDATE
                SET message_id = greatest(push_outbox.message_id, excluded.message_id),
                    sender_id = excluded.sender_id,
                    message_count = push_outbox.message_count + excluded.message_count
            )
            """
    }

    /// Moves a conversation's activity copies up to its activity, after a send that could not see some of them (see
    /// ``sendStatement(userID:conversationID:content:clientID:bounded:)``). A statement of its own, so its snapshot shows the
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
}
