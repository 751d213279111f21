import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@testable import MessengerApp

/// Unread counts on the conversations page, read straight from the repository against PostgreSQL: the counts are
/// exact, only conversations with something unread cost a count, and a count reads the index, not the table.
@Suite("Unread counts on a page of conversations")
struct UnreadCountTests {
    /// Index scans of `messages_conversation_id` so far, as the statistics have them once this pool's connection has
    /// reported its own (PostgreSQL 15 reports a backend's counts at most once a second unless asked to).
    static func conversationScans(_ pool: PostgresConnectionPool) async throws -> Int64 {
        try await pool.query("SELECT pg_stat_force_next_flush()")
        return try await ServerWithPools.count(
            pool, "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'messages_conversation_id'")
    }

    @Test("a conversation whose last message the reader has read is not counted: its unread count is 0 without a scan")
    func readConversationsAreNotScanned() async throws {
        // One connection: the repository's statements and the statistics questions share a backend.
        let live = try await ServerWithPools.start(poolSizes: [1])
        defer { Task { await live.stop() } }
        let (api, pool) = (live.api, live.pools[0])
        let repository = PostgresConversationRepository(pool: pool, maxGroupSize: 100)
        let me = try await api.devLogin(uniqueName("u"))
        let others = [try await api.devLogin(uniqueName("o")), try await api.devLogin(uniqueName("o")), try await api.devLogin(uniqueName("o"))]
        var conversations: [String] = []
        for other in others {
            let id = try await api.startConversation(me, with: other.username)
            _ = try await api.sendMessage(other, id, "one")
            _ = try await api.sendMessage(other, id, "two")
            conversations.append(id)
        }
        // Replying reads a conversation (the sender's read position moves to their message): the first two are read,
        // the third has two unread.
        _ = try await api.sendMessage(me, conversations[0], "seen")
        _ = try await api.sendMessage(me, conversations[1], "seen")

        let before = try await Self.conversationScans(pool)
        let page = try await repository.list(userID: ID.parse(me.userID)!, before: nil, limit: 25)
        let scans = try await Self.conversationScans(pool) - before

        let unread = Dictionary(uniqueKeysWithValues: page.map { ($0.id, $0.unreadCount) })
        #expect(unread == [conversations[0]: 0, conversations[1]: 0, conversations[2]: 2])
        #expect(scans == 1)
    }

    /// Rows of `messages` fetched from the table through an index so far (`pg_stat_user_tables.idx_tup_fetch`: index
    /// scans' and bitmap scans' fetches alike) and entries `messages_conversation_id` returned, once reported.
    static func messageFetches(_ pool: PostgresConnectionPool) async throws -> (tableRows: Int64, indexEntries: Int64) {
        try await pool.query("SELECT pg_stat_force_next_flush()")
        return try await pool.query(
            """
            SELECT t.idx_tup_fetch, i.idx_tup_read FROM pg_stat_user_tables t
            JOIN pg_stat_user_indexes i ON i.relid = t.relid AND i.indexrelname = 'messages_conversation_id'
            WHERE t.relname = 'messages'
            """
        ).first!.decode((Int64, Int64).self)
    }

    @Test("once vacuumed, unread messages are counted in the index alone: the page reads no counted row from the table")
    func unreadCountsReadTheIndexOnly() async throws {
        let live = try await ServerWithPools.start(poolSizes: [1])
        defer { Task { await live.stop() } }
        let (api, pool) = (live.api, live.pools[0])
        let repository = PostgresConversationRepository(pool: pool, maxGroupSize: 100)
        let me = try await api.devLogin(uniqueName("u"))
        var conversations: [String] = []
        for _ in 0..<3 {
            let other = try await api.devLogin(uniqueName("o"))
            let id = try await api.startConversation(me, with: other.username)
            for text in ["one", "two", "three", "four"] { _ = try await api.sendMessage(other, id, text) }
            conversations.append(id)
        }
        // 20,000 messages elsewhere: on a table of a few pages the planner rightly reads the table whole instead.
        let (a, b) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let elsewhere = try await api.startConversation(a, with: b.username)
        try await pool.query(
            """
            INSERT INTO messages (content, user_id, conversation_id)
            SELECT 'filler ' || n, \(ID.parse(a.userID)!), \(ID.parse(elsewhere)!) FROM generate_series(1, 20000) n
            """
        )
        // The counters are shared by every backend of this database, and the server's flush theirs when they please
        // (its dispatcher has fetched the rows above through another index): stop the server and wait until its
        // backends are gone, which they leave after flushing. From here on only this pool's connection reads.
        await live.server.stop()
        try await ServerWithPools.untilAlone(pool)
        // The visibility map is what lets an index-only scan skip the table; VACUUM sets it for pages whose rows
        // every transaction can see, so ask until it has.
        var allVisible = false
        for _ in 0..<50 where !allVisible {
            try await pool.withConnection { try await pool.unsafeExecute("VACUUM (ANALYZE) messages", on: $0) }
            allVisible = try await pool.query(
                "SELECT relallvisible = relpages FROM pg_class WHERE oid = 'messages'::regclass"
            ).first!.decode(Bool.self, at: 0)
        }
        #expect(allVisible)

        let before = try await Self.messageFetches(pool)
        let page = try await repository.list(userID: ID.parse(me.userID)!, before: nil, limit: 25)
        let after = try await Self.messageFetches(pool)

        let unread = Dictionary(uniqueKeysWithValues: page.map { ($0.id, $0.unreadCount) })
        #expect(unread == [conversations[0]: 4, conversations[1]: 4, conversations[2]: 4])
        // The 12 unread rows came out of the index (with the sender in it: `INCLUDE (user_id)`, schema/0013)...
        #expect(after.indexEntries - before.indexEntries >= 12)
        // ...and the table gave at most each conversation's last message (its preview), not one row per counted one.
        #expect(after.tableRows - before.tableRows <= 3)
    }
}
