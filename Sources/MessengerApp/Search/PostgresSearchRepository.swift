import Foundation
import PostgresLibPQ

/// ``SearchRepository`` on PostgreSQL: the generated `messages.search` vector and its GIN index (schema/0009).
///
/// Ranking every match of a common word (all 1,000,000 messages of the seeded set contain "seeded") would cost
/// seconds, so hits are ranked within **windows of the newest matches**: the first window is the newest
/// ``window`` matches in the caller's conversations, ranked (`ts_rank`, then newest first); when a window is used
/// up the walk continues with the next older window. Each window is found in one of two ways (see
/// ``windowQuery(walk:userID:tsquery:top:position:limit:)``): a short walk down the caller's newest messages,
/// which fills it for a common word, else the GIN index, which is quick exactly when the walk was not. Both
/// statements bind their text as constants the planner sees (custom plans only, `plan_cache_mode`).
public struct PostgresSearchRepository: SearchRepository {
    let pool: PostgresConnectionPool
    /// Matches ranked together (see the type's documentation).
    let window: Int

    public init(pool: PostgresConnectionPool, window: Int = 200) {
        self.pool = pool
        self.window = window
    }

    /// `ts_headline` marks matches with two private-use characters; they are removed from the content first, so
    /// every marker in the result is ours, and the result is split into parts here (never markup).
    static let startMark: Character = "\u{E000}"
    static let stopMark: Character = "\u{E001}"
    /// The whole message (at most `--max-message-length` characters): fragment mode would drop anything that looks
    /// like a tag (`<b>`, `<3 <img …>`), and the snippet must show the text as it was written.
    static let headlineOptions = "StartSel=\u{E000}, StopSel=\u{E001}, HighlightAll=true"

    public func searchMessages(userID: Int64, query: SearchQuery, after cursor: SearchCursor?, limit: Int) async throws -> (
        hits: [SearchHit], nextCursor: SearchCursor?
    ) {
        guard let prefix = query.prefixQueryText else { return ([], nil) }
        let head = query.headHasWords ? query.head : nil
        let window = self.window
        return try await self.pool.withTransaction { transaction in
            // Plans for the word at hand (see above), and no notices on the server's stderr for text without lexemes.
            try await transaction.unsafeExecute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL client_min_messages = warning")
            // The tsquery is built once and bound as text below: its own output format, read back with ::tsquery.
            let built = try await transaction.query(
                """
                SELECT (CASE WHEN \(head)::text IS NULL THEN to_tsquery('simple', \(prefix))
                             ELSE plainto_tsquery('simple', \(head)::text) && to_tsquery('simple', \(prefix)) END)::text
                """
            )
            let tsquery = try built.first!.decode(String.self, at: 0)
            if tsquery.isEmpty { return ([], nil) }

            var hits: [SearchHit] = []
            var top = cursor?.top ?? Int64.max
            var position = cursor.map { ($0.rank, $0.id) }
            var lastRank = 0.0
            // Two windows always fill a page (a window holds more than a page); the third guards a window whose
            // remaining hits vanished between requests (edited or deleted).
            for _ in 0..<3 {
                // The same window either way: the newest `window` matches at or below `top`. A common word fills
                // it within a short walk down the caller's newest messages; otherwise the GIN index finds it.
                var rows = try await transaction.query(
                    self.windowQuery(walk: true, userID: userID, tsquery: tsquery, top: top, position: position, limit: limit - hits.count)
                )
                if try rows.first.map({ try $0.decode(Int64.self, at: 0) }) ?? 0 < window {
                    rows = try await transaction.query(
                        self.windowQuery(walk: false, userID: userID, tsquery: tsquery, top: top, position: position, limit: limit - hits.count)
                    )
                }
                var windowSize = 0
                var windowLow: Int64?
                for row in rows {
                    let (count, low, rank, messageID) = try row.decode((Int64, Int64?, Double?, Int64?).self)
                    windowSize = Int(count)
                    windowLow = low
                    guard let rank, let messageID else { continue }
                    hits.append(try Self.hit(row, me: userID, messageID: messageID))
                    lastRank = rank
                }
                if hits.count >= limit {
                    let next = SearchCursor(top: top, rank: lastRank, id: Int64(hits.last!.message.id)!)
                    return (hits, next)
                }
                // This window is used up: an incomplete window was the last one.
                guard windowSize == window, let windowLow, windowLow > 1 else { return (hits, nil) }
                top = windowLow - 1
                position = nil
            }
            return (hits, nil)
        }
    }

    /// The newest messages walked before the index is asked instead (see ``searchMessages``).
    static let walkLimit = 4_000

    /// One window's hits after `position`, best first, with the window's size and lowest id on every row (one row
    /// of NULL hits when the page is empty).
    ///
    /// `walk` is bound as a constant the planner folds: with `true` only the first branch runs — the caller's newest
    /// ``walkLimit`` messages at or below `top` in id order, filtered by the query (a bounded cost however common
    /// or rare the word is); with `false` only the second — every match through the GIN index, sorted by id (an
    /// index walk down the primary key is ruled out by ordering on `id + 0`: for a word that is common overall but
    /// absent from recent messages it would read most of the table).
    func windowQuery(walk: Bool, userID: Int64, tsquery: String, top: Int64, position: (Double, Int64)?, limit: Int) -> PostgresQuery {
        """
        WITH cand AS (
            (SELECT recent.id, ts_rank(recent.search, \(tsquery)::tsquery)::float8 AS rank
             FROM (
                SELECT m.id, m.search FROM messages m
                WHERE \(walk)::boolean AND m.conversation_id IN (SELECT conversation_id FROM participants WHERE user_id = \(userID))
                  AND m.id <= \(top)
                ORDER BY m.id DESC LIMIT \(Self.walkLimit)
             ) recent
             WHERE recent.search @@ \(tsquery)::tsquery
             ORDER BY recent.id DESC LIMIT \(self.window))
            UNION ALL
            (SELECT m.id, ts_rank(m.search, \(tsquery)::tsquery)::float8 AS rank
             FROM messages m
             WHERE NOT \(walk)::boolean AND m.conversation_id IN (SELECT conversation_id FROM participants WHERE user_id = \(userID))
               AND m.search @@ \(tsquery)::tsquery AND m.id <= \(top)
             ORDER BY m.id + 0 DESC LIMIT \(self.window))
        ), bounds AS (
            SELECT count(*)::bigint AS n, min(id) AS lo FROM cand
        ), page AS (
            SELECT id, rank FROM cand
            WHERE (rank, id) < (\(position?.0 ?? Double.greatestFiniteMagnitude)::float8, \(position?.1 ?? Int64.max)::bigint)
            ORDER BY rank DESC, id DESC LIMIT \(limit)
        )
        SELECT b.n, b.lo, page.rank, m.id, m.content, m.conversation_id, m.created_at, m.client_id,
               u.id, u.username, u.avatar_url,
               ts_headline('simple', translate(m.content, \("\u{E000}\u{E001}"), ''), \(tsquery)::tsquery, \(Self.headlineOptions)),
               c.title, c.is_group, ou.id, ou.username, ou.avatar_url, m.edited_at
        FROM bounds b
        LEFT JOIN page ON true
        LEFT JOIN messages m ON m.id = page.id
        LEFT JOIN users u ON u.id = m.user_id
        LEFT JOIN conversations c ON c.id = m.conversation_id
        LEFT JOIN LATERAL (
            SELECT ou.id, ou.username, ou.avatar_url FROM participants op JOIN users ou ON ou.id = op.user_id
            WHERE op.conversation_id = c.id AND op.user_id <> \(userID) AND NOT c.is_group
            ORDER BY ou.id LIMIT 1
        ) ou ON true
        ORDER BY page.rank DESC, page.id DESC
        """
    }

    static func hit(_ row: PostgresRow, me: Int64, messageID: Int64) throws -> SearchHit {
        let (content, conversationID, createdAt, clientID, senderID, senderName, senderAvatar, headline) = try row.decode(
            (String, Int64, Date, String?, Int64, String, String?, String).self,
            from: 4
        )
        let (title, isGroup, otherID, otherName, otherAvatar, editedAt) = try row.decode(
            (String?, Bool, Int64?, String?, String?, Date?).self,
            from: 12
        )
        let message = Message(
            id: messageID,
            content: content,
            conversationID: conversationID,
            createdAt: Timestamp.format(createdAt),
            mine: senderID == me,
            user: User(id: senderID, username: senderName, avatarURL: senderAvatar),
            clientID: clientID,
            editedAt: editedAt.map(Timestamp.format)
        )
        let other = otherID.flatMap { id in otherName.map { User(id: id, username: $0, avatarURL: otherAvatar) } }
        return SearchHit(
            message: message,
            conversation: SearchConversation(id: conversationID, title: title, isGroup: isGroup, otherParticipant: other),
            snippet: Self.parts(headline)
        )
    }

    /// Splits `ts_headline`'s output at our markers into text parts.
    static func parts(_ headline: String) -> [SnippetPart] {
        var parts: [SnippetPart] = []
        var current = ""
        var inMatch = false
        func flush() {
            if current.isEmpty { return }
            if let last = parts.last, last.match == inMatch {
                parts[parts.count - 1].text += current
            } else {
                parts.append(SnippetPart(text: current, match: inMatch))
            }
            current = ""
        }
        for character in headline {
            if character == Self.startMark || character == Self.stopMark {
                flush()
                inMatch = character == Self.startMark
            } else {
                current.append(character)
            }
        }
        flush()
        return parts
    }

    public func searchConversations(userID: Int64, text: String, limit: Int) async throws -> [SearchConversation] {
        let escaped = Self.likeEscaped(text.lowercased())
        // Groups whose title contains the text (among the caller's own), and 1:1 conversations with people whose
        // name starts with it: those start from the few matching users (index users_username_pattern).
        let rows = try await self.pool.query(
            """
            SELECT id, title, is_group, oid, oname, oavatar FROM (
                SELECT c.id, c.title, c.is_group, NULL::bigint AS oid, NULL::text AS oname, NULL::text AS oavatar, c.last_activity_at
                FROM participants p JOIN conversations c ON c.id = p.conversation_id
                WHERE p.user_id = \(userID) AND c.is_group AND lower(c.title) LIKE \("%" + escaped + "%") ESCAPE '\\'
                UNION ALL
                SELECT c.id, c.title, c.is_group, u.id, u.username, u.avatar_url, c.last_activity_at
                FROM users u
                JOIN participants op ON op.user_id = u.id
                JOIN participants p ON p.conversation_id = op.conversation_id AND p.user_id = \(userID)
                JOIN conversations c ON c.id = op.conversation_id AND NOT c.is_group
                WHERE lower(u.username) LIKE \(escaped + "%") ESCAPE '\\' AND u.id <> \(userID)
            ) found
            ORDER BY last_activity_at DESC, id DESC LIMIT \(limit)
            """
        )
        return try rows.map { row in
            let (id, title, isGroup, otherID, otherName, otherAvatar) = try row.decode((Int64, String?, Bool, Int64?, String?, String?).self)
            let other = otherID.flatMap { id in otherName.map { User(id: id, username: $0, avatarURL: otherAvatar) } }
            return SearchConversation(id: id, title: title, isGroup: isGroup, otherParticipant: other)
        }
    }

    public func searchPeople(userID: Int64, text: String, limit: Int) async throws -> [User] {
        let pattern = Self.likeEscaped(text.lowercased()) + "%"
        let rows = try await self.pool.query(
            """
            SELECT id, username, avatar_url FROM users
            WHERE lower(username) LIKE \(pattern) ESCAPE '\\' AND id <> \(userID)
            ORDER BY lower(username) LIMIT \(limit)
            """
        )
        return try rows.map { row in
            let (id, name, avatar) = try row.decode((Int64, String, String?).self)
            return User(id: id, username: name, avatarURL: avatar)
        }
    }

    /// LIKE wildcards and the escape character itself, matched literally.
    static func likeEscaped(_ text: String) -> String {
        var pattern = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { pattern.append("\\") }
            pattern.append(character)
        }
        return pattern
    }
}
