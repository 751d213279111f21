import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@testable import MessengerApp

/// Unread counts on the conversations page, read straight from the repository against PostgreSQL: the counts are
/// exact, and only conversations with something unread cost a count.
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
}
