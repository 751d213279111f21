import Foundation
import PostgresLibPQ

/// ``ConversationRepository`` on PostgreSQL.
public struct PostgresConversationRepository: ConversationRepository {
    let pool: PostgresConnectionPool
    let maxGroupSize: Int
    /// Presence: an instance silent this long counts as dead; nil when presence is off.
    let presenceDeadAfter: Duration?
    /// Push notifications on: a send records a push for each offline recipient (folded into a pending one within
    /// this window). nil: sending does nothing more.
    let pushCoalesceWindow: Duration?
    /// Gathers sends that would wait for the database into one statement.
    let sendBatcher: SendBatcher<MessageSend, StoredSend?>
    /// Where send statements are counted (`messenger_send_statements_total`); nil: nowhere.
    let metrics: AppMetrics?
    /// How long a send statement in one of the batcher's slots waits for a row lock (``defaultSendLockTimeout``).
    let sendLockTimeout: Duration
    /// ``lockTimeoutCondition(_:)``'s text for a bounded statement (made once: every send uses it).
    let boundedLockCondition: String

    public init(
        pool: PostgresConnectionPool, maxGroupSize: Int, presenceDeadAfter: Duration? = nil, pushCoalesceWindow: Duration? = nil,
        metrics: AppMetrics? = nil, sendLockTimeout: Duration = Self.defaultSendLockTimeout
    ) {
        precondition(sendLockTimeout >= .milliseconds(1), "a lock timeout of zero would mean no timeout at all")
        self.pool = pool
        self.metrics = metrics
        self.sendLockTimeout = sendLockTimeout
        self.boundedLockCondition = Self.boundedLockCondition(sendLockTimeout)
        self.sendBatcher = SendBatcher(
            limit: Self.sendStatementsAtOnce, maximumBatch: Self.sendsPerStatement, key: \.conversationID
        ) { error in
            // The database rejected the statement (its transaction rolled back, nothing was stored), or a value could
            // not be sent. Not after a lost connection: the statement may have committed.
            guard let error = error as? PostgresError else { return false }
            return (error.kind == .server && !error.isConnectionError) || error.kind == .invalidBind
        }
        self.maxGroupSize = maxGroupSize
        self.presenceDeadAfter = presenceDeadAfter
        self.pushCoalesceWindow = pushCoalesceWindow
    }

    /// Send statements at once (``SendBatcher``); sends beyond wait and go together. One: with 32 senders, one statement
    /// at a time carrying everything that queued meanwhile gave 20–24% more messages at half the database CPU per
    /// message of four (README, Benchmarks, stop 33); a locked conversation costs it one lock timeout, since the sends
    /// to it then wait outside the slot.
    static let sendStatementsAtOnce = 1
    /// Sends in one statement at most.
    static let sendsPerStatement = 32

    /// Seconds after which an instance's presence rows no longer count (a huge number when presence is off: the
    /// columns are then dropped from the answer anyway).
    var deadAfterSeconds: Double {
        self.presenceDeadAfter.map { Double($0.components.seconds) } ?? 1e9
    }

    // MARK: Conversations

    public func createDirect(userID: Int64, otherUserID: Int64) async throws -> (conversation: Conversation, created: Bool) {
        let key = "\(min(userID, otherUserID)):\(max(userID, otherUserID))"
        let (conversationID, created) = try await self.pool.withTransaction { transaction -> (Int64, Bool) in
            // The unique direct_key makes the race safe: the loser waits for the winner's commit and finds its row.
            let inserted = try await transaction.query(
                """
                INSERT INTO conversations (direct_key, participant_count) VALUES (\(key), 2)
                ON CONFLICT (direct_key) DO NOTHING RETURNING id
                """
            )
            if let row = inserted.first {
                let id = try row.decode(Int64.self, at: 0)
                try await transaction.query(
                    """
                    INSERT INTO participants (user_id, conversation_id) VALUES (\(userID), \(id)), (\(otherUserID), \(id))
                    """
                )
                try await transaction.query(
                    "INSERT INTO stream_events (conversation_id, kind, user_id) VALUES (\(id), 'created', \(userID))"
                )
                return (id, true)
            }
            let existing = try await transaction.query("SELECT id FROM conversations WHERE direct_key = \(key)")
            return (try existing.first!.decode(Int64.self, at: 0), false)
        }
        guard let conversation = try await self.find(userID: userID, conversationID: conversationID) else {
            throw RepositoryError.notFound
        }
        return (conversation, created)
    }

    public func createGroup(userID: Int64, title: String, memberIDs: [Int64]) async throws -> Conversation {
        var members = [userID]
        for id in memberIDs where !members.contains(id) { members.append(id) }
        let allMembers = members
        let conversationID = try await self.pool.withTransaction { transaction -> Int64 in
            let row = try await transaction.query(
                """
                INSERT INTO conversations (title, is_group, participant_count) VALUES (\(title), true, \(allMembers.count)) RETURNING id
                """
            )
            let id = try row.first!.decode(Int64.self, at: 0)
            try await transaction.query(
                "INSERT INTO participants (user_id, conversation_id) SELECT unnest(\(allMembers)::bigint[]), \(id)"
            )
            try await transaction.query(
                "INSERT INTO stream_events (conversation_id, kind, user_id) VALUES (\(id), 'created', \(userID))"
            )
            return id
        }
        guard let conversation = try await self.find(userID: userID, conversationID: conversationID) else { throw RepositoryError.notFound }
        return conversation
    }

    public func list(userID: Int64, before cursor: ConversationCursor?, limit: Int) async throws -> [Conversation] {
        // Two sources merged (schema/0010): participant rows that keep a copy of their conversation's activity (a
        // user in many conversations), read newest first straight from the index participants_activity (`limit`
        // rows, however many conversations the user is in), and rows without one (an ordinary user's few), whose
        // activity is read from the conversation row. Without a cursor the bound is the end of time.
        // Compare raw timestamps (no per-row arithmetic); the cursor's microseconds convert exactly through float8
        // for any date before the year 2255.
        let hasCursor = cursor != nil
        let activityMicros = Double(cursor?.activityMicros ?? 0)
        let beforeID = cursor?.id ?? Int64.max
        let rows = try await self.pool.query(
            """
            SELECT \(unsafeRaw: Self.conversationColumns) FROM (
                SELECT merged.cid, \(userID)::bigint AS me, merged.lr, merged.act, \(self.deadAfterSeconds)::float8 AS dead FROM (
                    (SELECT p.conversation_id AS cid, p.last_read_message_id AS lr, p.activity_at AS act
                     FROM participants p
                     WHERE p.user_id = \(userID) AND p.activity_at IS NOT NULL AND (p.activity_at, p.conversation_id)
                           < (CASE WHEN \(hasCursor)::boolean THEN timestamptz 'epoch' + \(activityMicros)::float8 * interval '1 microsecond' ELSE timestamptz 'infinity' END, \(beforeID)::bigint)
                     ORDER BY p.activity_at DESC, p.conversation_id DESC
                     LIMIT \(limit))
                    UNION ALL
                    (SELECT c.id, p.last_read_message_id, c.last_activity_at
                     FROM participants p JOIN conversations c ON c.id = p.conversation_id
                     WHERE p.user_id = \(userID) AND p.activity_at IS NULL AND (c.last_activity_at, c.id)
                           < (CASE WHEN \(hasCursor)::boolean THEN timestamptz 'epoch' + \(activityMicros)::float8 * interval '1 microsecond' ELSE timestamptz 'infinity' END, \(beforeID)::bigint)
                     ORDER BY c.last_activity_at DESC, c.id DESC
                     LIMIT \(limit))
                ) merged
                ORDER BY merged.act DESC, merged.cid DESC
                LIMIT \(limit)
            ) page \(unsafeRaw: Self.conversationJoins)
            ORDER BY page.act DESC, page.cid DESC
            """
        )
        return try rows.map(self.conversation)
    }

    public func find(userID: Int64, conversationID: Int64) async throws -> Conversation? {
        let rows = try await self.pool.query(
            """
            SELECT \(unsafeRaw: Self.conversationColumns) FROM (
                SELECT c.id AS cid, p.user_id AS me, p.last_read_message_id AS lr, c.last_activity_at AS act, \(self.deadAfterSeconds)::float8 AS dead
                FROM participants p JOIN conversations c ON c.id = p.conversation_id
                WHERE p.user_id = \(userID) AND c.id = \(conversationID)
            ) page \(unsafeRaw: Self.conversationJoins)
            """
        )
        return try rows.first.map(self.conversation)
    }

    static let conversationColumns = """
        c.id, c.title, c.is_group, c.participant_count, c.created_at, (extract(epoch FROM page.act) * 1000000)::bigint,
        m.id, m.content, m.created_at, m.client_id, mu.id, mu.username, mu.avatar_url,
        ou.id, ou.username, ou.avatar_url, un.unread, page.me, ou.online, ou.last_seen_at, m.edited_at, m.deleted_at IS NOT NULL
        """

    /// The joins behind ``conversationColumns``. The unread count is the costliest part of a page (a scan of the
    /// conversation's newer messages each; `messages_conversation_id` carries the sender, so the scan stays in the
    /// index: schema/0013): a conversation whose last message the reader has read has none to count —
    /// `last_message_id` is the newest message's id (the send statement moves it forward in the statement that
    /// inserts, deleting moves it back to the newest left) — so only the others are scanned.
    static let conversationJoins = """
        JOIN conversations c ON c.id = page.cid
        LEFT JOIN messages m ON m.id = c.last_message_id
        LEFT JOIN users mu ON mu.id = m.user_id
        LEFT JOIN LATERAL (
            SELECT u.id, u.username, u.avatar_url, u.last_seen_at, EXISTS (
                SELECT 1 FROM presence_online po JOIN presence_instances pi ON pi.id = po.instance_id
                WHERE po.user_id = u.id AND pi.heartbeat_at >= now() - page.dead * interval '1 second'
            ) AS online
            FROM participants op JOIN users u ON u.id = op.user_id
            WHERE op.conversation_id = c.id AND op.user_id <> page.me AND NOT c.is_group
            ORDER BY u.id LIMIT 1
        ) ou ON true
        CROSS JOIN LATERAL (
            SELECT CASE WHEN c.last_message_id IS NULL OR c.last_message_id <= coalesce(page.lr, 0) THEN 0::bigint ELSE (
                SELECT count(*)::bigint FROM (
                    SELECT 1 FROM messages um
                    WHERE um.conversation_id = c.id AND um.id > coalesce(page.lr, 0) AND um.user_id <> page.me
                    LIMIT 1000
                ) x
            ) END AS unread
        ) un
        """

    func conversation(_ row: PostgresRow) throws -> Conversation {
        var conversation = try Self.conversation(row)
        if self.presenceDeadAfter == nil {
            conversation.online = nil
            conversation.lastSeenAt = nil
        }
        return conversation
    }

    static func conversation(_ row: PostgresRow) throws -> Conversation {
        let (id, title, isGroup, count, createdAt, activity) = try row.decode((Int64, String?, Bool, Int, Date, Int64).self)
        let (messageID, content, messageCreatedAt, clientID, senderID, senderName, senderAvatar) = try row.decode(
            (Int64?, String?, Date?, String?, Int64?, String?, String?).self,
            from: 6
        )
        let (otherID, otherName, otherAvatar, unread, me, online, lastSeen) = try row.decode(
            (Int64?, String?, String?, Int64, Int64, Bool?, Date?).self,
            from: 13
        )
        let (editedAt, deleted) = try row.decode((Date?, Bool?).self, from: 20)
        var lastMessage: Message?
        if let messageID, let content, let messageCreatedAt, let senderID, let senderName {
            lastMessage = Message(
                id: messageID,
                content: content,
                conversationID: id,
                createdAt: Timestamp.format(messageCreatedAt),
                mine: senderID == me,
                user: User(id: senderID, username: senderName, avatarURL: senderAvatar),
                clientID: clientID,
                editedAt: editedAt.map(Timestamp.format),
                deleted: deleted ?? false
            )
        }
        let other = otherID.flatMap { otherID in otherName.map { User(id: otherID, username: $0, avatarURL: otherAvatar) } }
        return Conversation(
            id: String(id),
            title: title,
            isGroup: isGroup,
            otherParticipant: other,
            participantCount: count,
            lastMessage: lastMessage,
            hasUnreadMessages: unread > 0,
            unreadCount: Int(unread),
            createdAt: Timestamp.format(createdAt),
            online: online,
            lastSeenAt: lastSeen.map(Timestamp.format),
            cursor: ConversationCursor(activityMicros: activity, id: id).description
        )
    }

    public func participants(userID: Int64, conversationID: Int64) async throws -> [Participant]? {
        let rows = try await self.pool.query(
            """
            SELECT u.id, u.username, u.avatar_url, op.last_read_message_id, u.last_seen_at, EXISTS (
                SELECT 1 FROM presence_online po JOIN presence_instances pi ON pi.id = po.instance_id
                WHERE po.user_id = u.id AND pi.heartbeat_at >= now() - \(self.deadAfterSeconds)::float8 * interval '1 second'
            )
            FROM participants me
            JOIN participants op ON op.conversation_id = me.conversation_id
            JOIN users u ON u.id = op.user_id
            WHERE me.user_id = \(userID) AND me.conversation_id = \(conversationID)
            ORDER BY op.joined_at, u.id
            """
        )
        if rows.isEmpty { return nil }
        return try rows.map { row in
            let (id, name, avatar, lastRead, lastSeen, online) = try row.decode((Int64, String, String?, Int64?, Date?, Bool).self)
            var participant = Participant(id: String(id), username: name, avatarURL: avatar, lastReadMessageId: lastRead.map(String.init))
            if self.presenceDeadAfter != nil {
                participant.online = online
                participant.lastSeenAt = lastSeen.map(Timestamp.format)
            }
            return participant
        }
    }

    public func addParticipant(userID: Int64, conversationID: Int64, newUserID: Int64) async throws -> AddParticipantResult {
        let maxGroupSize = self.maxGroupSize
        return try await self.pool.withTransaction { transaction -> AddParticipantResult in
            let check = try await transaction.query(
                """
                SELECT c.is_group, c.participant_count FROM conversations c
                JOIN participants p ON p.conversation_id = c.id AND p.user_id = \(userID)
                WHERE c.id = \(conversationID) FOR UPDATE OF c
                """
            )
            guard let row = check.first else { return .notFound }
            let (isGroup, count) = try row.decode((Bool, Int).self)
            guard isGroup else { return .notAGroup }
            guard count < maxGroupSize else { return .full }
            let inserted = try await transaction.query(
                """
                INSERT INTO participants (user_id, conversation_id) VALUES (\(newUserID), \(conversationID))
                ON CONFLICT DO NOTHING RETURNING user_id
                """
            )
            guard !inserted.isEmpty else { return .alreadyMember }
            try await transaction.query("UPDATE conversations SET participant_count = participant_count + 1 WHERE id = \(conversationID)")
            try await transaction.query(
                """
                INSERT INTO stream_events (conversation_id, kind, user_id, actor_id)
                VALUES (\(conversationID), 'joined', \(newUserID), \(userID))
                """
            )
            let user = try await transaction.query("SELECT id, username, avatar_url FROM users WHERE id = \(newUserID)")
            let (id, name, avatar) = try user.first!.decode((Int64, String, String?).self)
            return .added(Participant(id: String(id), username: name, avatarURL: avatar, lastReadMessageId: nil))
        }
    }

    public func leave(userID: Int64, conversationID: Int64) async throws -> LeaveResult {
        try await self.pool.withTransaction { transaction -> LeaveResult in
            let check = try await transaction.query(
                """
                SELECT c.is_group FROM conversations c
                JOIN participants p ON p.conversation_id = c.id AND p.user_id = \(userID)
                WHERE c.id = \(conversationID) FOR UPDATE OF c
                """
            )
            guard let row = check.first else { return .notFound }
            guard try row.decode(Bool.self, at: 0) else { return .notAGroup }
            try await transaction.query("DELETE FROM participants WHERE user_id = \(userID) AND conversation_id = \(conversationID)")
            try await transaction.query("UPDATE conversations SET participant_count = participant_count - 1 WHERE id = \(conversationID)")
            try await transaction.query(
                "INSERT INTO stream_events (conversation_id, kind, user_id) VALUES (\(conversationID), 'left', \(userID))"
            )
            return .left
        }
    }

    // MARK: Messages

    public func createMessage(userID: Int64, conversationID: Int64, content: String, clientID: String?) async throws -> (
        message: Message, created: Bool
    )? {
        // One statement, so one round trip and one implicit transaction (see ``sendStatement``), shared with the
        // sends that arrive while the database is busy (``SendBatcher``).
        let send = MessageSend(userID: userID, conversationID: conversationID, content: content, clientID: clientID)
        if let stored = try await self.sendBatcher.submit(send, execute: { try await self.store($0, bounded: $1) }) {
            // Rare (a user gained activity copies while this send ran): repaired before the sender hears back, so
            // any listing after the answer has the order right. The message is committed either way: a failed repair
            // (the database just went away) must not turn it into an error that the client would retry.
            if stored.missedCopies { try? await self.bringCopiesForward(conversationID: conversationID) }
            let message = Message(
                id: stored.id,
                content: content,
                conversationID: conversationID,
                createdAt: Timestamp.format(stored.createdAt),
                mine: true,
                user: User(id: userID, username: stored.username, avatarURL: stored.avatarURL),
                clientID: clientID
            )
            return (message, true)
        }
        guard let clientID else { return nil }
        // Nothing inserted: either not a participant, or a retry of a send that already happened.
        let existing = try await self.pool.query(
            """
            SELECT \(unsafeRaw: Self.messageColumns) FROM messages m JOIN users u ON u.id = m.user_id
            WHERE m.conversation_id = \(conversationID) AND m.user_id = \(userID) AND m.client_id = \(clientID)
              AND EXISTS (SELECT 1 FROM participants WHERE user_id = \(userID) AND conversation_id = \(conversationID))
            """
        )
        return try existing.first.map { (try Self.message($0, me: userID), false) }
    }

    public func messages(userID: Int64, conversationID: Int64, page: MessagePage) async throws -> [Message]? {
        // Membership and the page in one statement: the participant row is a one-time filter (an index probe before
        // the scan), so a member's page costs one round trip. Asking first cost a second one on every page: at one
        // request at a time, ~0.2 ms of the server's CPU (the thread wake-ups of a round trip) and of the answer's
        // latency. Only an empty page asks again, to tell "not a member" (nil) from "no messages there" ([]).
        // The cursor and the page size go through sub-selects, which hide them from the planner: in plain view
        // PostgreSQL judged a plan made for each page's own values cheaper than its generic one (which is the same
        // backward index scan) and planned every page again, 116 µs of planning for 50 µs of running.
        let rows: PostgresRows
        switch page {
        case .before(let before, let limit):
            rows = try await self.pool.query(
                """
                SELECT \(unsafeRaw: Self.messageColumns) FROM messages m JOIN users u ON u.id = m.user_id
                WHERE m.conversation_id = \(conversationID) AND m.id < (SELECT \(before ?? Int64.max)::bigint)
                  AND EXISTS (SELECT 1 FROM participants WHERE user_id = \(userID) AND conversation_id = \(conversationID))
                ORDER BY m.id DESC LIMIT (SELECT \(limit)::bigint)
                """
            )
        case .after(let after, let limit):
            rows = try await self.pool.query(
                """
                SELECT \(unsafeRaw: Self.messageColumns) FROM messages m JOIN users u ON u.id = m.user_id
                WHERE m.conversation_id = \(conversationID) AND m.id > (SELECT \(after)::bigint)
                  AND EXISTS (SELECT 1 FROM participants WHERE user_id = \(userID) AND conversation_id = \(conversationID))
                ORDER BY m.id ASC LIMIT (SELECT \(limit)::bigint)
                """
            )
        }
        if rows.isEmpty { return try await self.isParticipant(userID: userID, conversationID: conversationID) ? [] : nil }
        return try rows.map { try Self.message($0, me: userID) }
    }

    /// Whether the user is a participant: what an empty answer from a statement that checks membership inside it
    /// (a page of messages, membership history) leaves open — not a member, or nothing there.
    func isParticipant(userID: Int64, conversationID: Int64) async throws -> Bool {
        try await !self.pool.query("SELECT 1 FROM participants WHERE user_id = \(userID) AND conversation_id = \(conversationID)").isEmpty
    }

    public func markRead(userID: Int64, conversationID: Int64, upTo messageID: Int64?) async throws -> MarkReadResult {
        let rows = try await self.pool.query(
            """
            WITH target AS (
                SELECT CASE WHEN \(messageID)::bigint IS NULL THEN c.last_message_id
                            ELSE (SELECT id FROM messages WHERE id = \(messageID)::bigint AND conversation_id = c.id) END AS mid
                FROM conversations c JOIN participants p ON p.conversation_id = c.id AND p.user_id = \(userID)
                WHERE c.id = \(conversationID)
            ), upd AS (
                UPDATE participants p SET last_read_message_id = t.mid, messages_read_at = now()
                FROM target t
                WHERE p.user_id = \(userID) AND p.conversation_id = \(conversationID) AND t.mid IS NOT NULL
                  AND (p.last_read_message_id IS NULL OR p.last_read_message_id < t.mid)
                RETURNING p.last_read_message_id
            ), ev AS (
                INSERT INTO stream_events (conversation_id, kind, user_id, message_id)
                SELECT \(conversationID), 'read', \(userID), last_read_message_id FROM upd
            ), unpushed AS (
                -- With push on, a pending push for what the reader has now read goes at once (the worker would drop
                -- it when due anyway; this way it never waits out its window as a row that is still "pending").
                UPDATE push_outbox o SET state = 'dropped', finished_at = now()
                FROM upd
                WHERE \(self.pushCoalesceWindow != nil)::boolean AND o.recipient_id = \(userID)
                  AND o.conversation_id = \(conversationID) AND o.state = 'pending' AND o.message_id <= upd.last_read_message_id
            )
            SELECT (SELECT count(*) FROM target)::bigint, (SELECT count(*) FROM target WHERE mid IS NULL)::bigint, (SELECT count(*) FROM upd)::bigint
            """
        )
        let (participant, missing, moved) = try rows.first!.decode((Int64, Int64, Int64).self)
        if participant == 0 { return .notFound }
        if missing > 0 && messageID != nil { return .messageNotFound }
        return .done(moved: moved > 0)
    }

    static let messageColumns =
        "m.id, m.content, m.conversation_id, m.created_at, m.client_id, u.id, u.username, u.avatar_url, m.edited_at, m.deleted_at IS NOT NULL"

    static func message(_ row: PostgresRow, me: Int64) throws -> Message {
        let (id, content, conversationID, createdAt, clientID, senderID, senderName, senderAvatar) = try row.decode(
            (Int64, String, Int64, Date, String?, Int64, String, String?).self
        )
        let (editedAt, deleted) = try row.decode((Date?, Bool).self, from: 8)
        return Message(
            id: id,
            content: content,
            conversationID: conversationID,
            createdAt: Timestamp.format(createdAt),
            mine: senderID == me,
            user: User(id: senderID, username: senderName, avatarURL: senderAvatar),
            clientID: clientID,
            editedAt: editedAt.map(Timestamp.format),
            deleted: deleted
        )
    }
}
