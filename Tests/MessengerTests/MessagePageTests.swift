import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@testable import MessengerApp

/// Pages of messages read straight from the repository, against PostgreSQL: the statement hides its cursor and page
/// size from the planner behind sub-selects (so that one generic plan serves every page), and must still return
/// exactly the page asked for.
@Suite("Pages of messages: newest, older than a cursor, newer than a position")
struct MessagePageTests {
    @Test("pages of several sizes from several conversations of a thousand messages are exactly the messages asked for")
    func pagesAreExact() async throws {
        let live = try await ServerWithPools.start(poolSizes: [1])
        defer { Task { await live.stop() } }
        let (api, pool) = (live.api, live.pools[0])
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let repository = PostgresConversationRepository(pool: pool, maxGroupSize: 100)
        let aliceID = ID.parse(alice.userID)!
        // Conversations of a thousand messages each, and statistics that know it (as on a server that has run for a
        // while).
        var conversations: [(id: Int64, messages: [Int64])] = []
        for _ in 0..<3 {
            let id = ID.parse(try await api.createGroup(alice, title: "plans", usernames: [bob.username]))!
            try await pool.query(
                """
                INSERT INTO messages (content, user_id, conversation_id)
                SELECT 'message ' || n, \(aliceID), \(id) FROM generate_series(1, 1000) n
                """)
            let messages = try await pool.query("SELECT id FROM messages WHERE conversation_id = \(id) ORDER BY id")
                .map { try $0.decode(Int64.self, at: 0) }
            conversations.append((id, messages))
        }
        try await pool.query("ANALYZE messages")

        // Pages as clients ask for them: the newest, older ones from a cursor, newer ones after a position.
        for round in 0..<12 {
            let (id, messages) = conversations[round % conversations.count]
            let limit = [10, 25, 50][round % 3]
            let cursor = messages[messages.count - 1 - 7 * round]
            let newest = try #require(try await repository.messages(userID: aliceID, conversationID: id, page: .before(nil, limit: limit)))
            #expect(newest.map { ID.parse($0.id)! } == Array(messages.suffix(limit).reversed()))
            let older = try #require(try await repository.messages(userID: aliceID, conversationID: id, page: .before(cursor, limit: limit)))
            #expect(older.map { ID.parse($0.id)! } == Array(messages.filter { $0 < cursor }.suffix(limit).reversed()))
            let newer = try #require(try await repository.messages(userID: aliceID, conversationID: id, page: .after(cursor, limit: limit)))
            #expect(newer.map { ID.parse($0.id)! } == Array(messages.filter { $0 > cursor }.prefix(limit)))
        }
        // The ends: fewer than a page before the first messages, nothing after the last, nothing in another
        // conversation's range.
        let (id, messages) = conversations[0]
        let first = try await repository.messages(userID: aliceID, conversationID: id, page: .before(messages[3], limit: 10))
        #expect(first?.map { ID.parse($0.id)! } == Array(messages.prefix(3).reversed()))
        #expect(try await repository.messages(userID: aliceID, conversationID: id, page: .after(messages.last!, limit: 10))?.isEmpty == true)
        let other = try await repository.messages(userID: aliceID, conversationID: conversations[1].id, page: .before(messages[3], limit: 10))
        #expect(other?.isEmpty == true)
    }

    @Test("a member's page is one statement; membership is asked apart only to explain an empty page")
    func memberPageIsOneStatement() async throws {
        // One connection, so the statements the repository prepares are all on it, and pg_prepared_statements there
        // counts how often each ran (every execution uses a generic or a custom plan).
        let live = try await ServerWithPools.start(poolSizes: [1])
        defer { Task { await live.stop() } }
        let (api, pool) = (live.api, live.pools[0])
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let carol = try await api.devLogin(uniqueName("c"))
        let repository = PostgresConversationRepository(pool: pool, maxGroupSize: 100)
        let (aliceID, carolID) = (ID.parse(alice.userID)!, ID.parse(carol.userID)!)
        let id = ID.parse(try await api.createGroup(alice, title: "rounds", usernames: [bob.username]))!
        try await pool.query(
            """
            INSERT INTO messages (content, user_id, conversation_id)
            SELECT 'message ' || n, \(aliceID), \(id) FROM generate_series(1, 30) n
            """)
        // Runs of the membership question on its own (the page statement asks it inside, after EXISTS).
        func membershipRuns() async throws -> Int64 {
            try await ServerWithPools.count(
                pool,
                """
                SELECT coalesce(sum(generic_plans + custom_plans), 0)::bigint FROM pg_prepared_statements
                WHERE statement LIKE 'SELECT 1 FROM participants WHERE%'
                """)
        }

        var newest: Int64 = 0
        for _ in 0..<5 {
            let page = try #require(try await repository.messages(userID: aliceID, conversationID: id, page: .before(nil, limit: 10)))
            #expect(page.count == 10)
            newest = ID.parse(page[0].id)!
        }
        #expect(try await membershipRuns() == 0)
        // An empty page: a member with nothing there gets [], asked once more to know it is a member.
        #expect(try await repository.messages(userID: aliceID, conversationID: id, page: .after(newest, limit: 10)) == [])
        #expect(try await membershipRuns() == 1)
        // Not a member: nothing, whichever side is asked.
        #expect(try await repository.messages(userID: carolID, conversationID: id, page: .before(nil, limit: 10)) == nil)
        #expect(try await repository.messages(userID: carolID, conversationID: id, page: .after(0, limit: 10)) == nil)
        #expect(try await membershipRuns() == 3)
    }
}
