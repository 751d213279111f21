import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@testable import MessengerApp

/// What the foreign keys from messages and conversations.last_message_id did, kept by the triggers of
/// schema/0012 after the send stopped paying for the checks: deletes and truncates cascade, a conversation's last
/// message moves to its newest remaining one, and a delete of a user or conversation racing a send never leaves a
/// message behind whose user or conversation is gone.
@Suite("Messages without foreign keys: cascades, the last message, and deletes racing sends")
struct MessageReferencesTests {
    static func count(_ pool: PostgresConnectionPool, _ query: PostgresQuery) async throws -> Int64 {
        try await ServerWithPools.count(pool, query)
    }

    /// Messages whose user or conversation no longer exists.
    static func orphans(_ pool: PostgresConnectionPool) async throws -> Int64 {
        try await self.count(
            pool,
            """
            SELECT count(*) FROM messages m
            WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id)
               OR NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = m.conversation_id)
            """)
    }

    @Test("deleting a user deletes their messages; each conversation's last message becomes its newest remaining one")
    func deleteUser() async throws {
        let live = try await ServerWithPools.start(poolSizes: [1])
        defer { Task { await live.stop() } }
        let (api, sql) = (live.api, live.pools[0])
        let (alice, bob, carol) = (
            try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")), try await api.devLogin(uniqueName("c"))
        )
        let group = try await api.createGroup(alice, title: "Group", usernames: [bob.username, carol.username])
        let direct = try await api.startConversation(bob, with: alice.username)
        try await api.sendMessage(alice, group, "one")
        let kept = try await api.sendMessage(carol, group, "two")["id"] as! String
        try await api.sendMessage(bob, group, "three")
        try await api.sendMessage(bob, direct, "to alice")

        let bobID = ID.parse(bob.userID)!
        try await sql.query("DELETE FROM users WHERE id = \(bobID)")

        #expect(try await Self.count(sql, "SELECT count(*) FROM messages WHERE user_id = \(bobID)") == 0)
        #expect(try await Self.count(sql, "SELECT count(*) FROM messages WHERE conversation_id = \(ID.parse(group)!)") == 2)
        #expect(try await Self.orphans(sql) == 0)
        // The group shows carol's message as its last one; the 1:1 conversation has none left.
        let shown = try await api.send(.GET, "/api/conversations/\(group)", token: alice.token).object
        #expect((shown["lastMessage"] as? [String: Any])?["id"] as? String == kept)
        let last = try await sql.query("SELECT last_message_id FROM conversations WHERE id = \(ID.parse(direct)!)").first!
        #expect(try last.decode(Int64?.self, at: 0) == nil)
    }

    @Test("deleting a conversation deletes its messages and no other")
    func deleteConversation() async throws {
        let live = try await ServerWithPools.start(poolSizes: [1])
        defer { Task { await live.stop() } }
        let (api, sql) = (live.api, live.pools[0])
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let gone = try await api.startConversation(alice, with: bob.username)
        let other = try await api.createGroup(alice, title: "Other", usernames: [bob.username])
        try await api.sendMessage(alice, gone, "one")
        try await api.sendMessage(bob, gone, "two")
        try await api.sendMessage(bob, other, "stays")

        try await sql.query("DELETE FROM conversations WHERE id = \(ID.parse(gone)!)")

        #expect(try await Self.count(sql, "SELECT count(*) FROM messages WHERE conversation_id = \(ID.parse(gone)!)") == 0)
        #expect(try await Self.count(sql, "SELECT count(*) FROM messages WHERE conversation_id = \(ID.parse(other)!)") == 1)
        #expect(try await Self.orphans(sql) == 0)
    }

    @Test("TRUNCATE users CASCADE empties messages; TRUNCATE messages clears every last message")
    func truncate() async throws {
        let live = try await ServerWithPools.start(poolSizes: [1])
        defer { Task { await live.stop() } }
        let (api, sql) = (live.api, live.pools[0])
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let conversation = try await api.startConversation(alice, with: bob.username)
        try await api.sendMessage(alice, conversation, "one")

        try await sql.query("TRUNCATE messages")
        #expect(try await Self.count(sql, "SELECT count(*) FROM conversations WHERE last_message_id IS NOT NULL") == 0)

        try await api.sendMessage(bob, conversation, "two")
        try await sql.query("TRUNCATE users CASCADE")
        #expect(try await Self.count(sql, "SELECT count(*) FROM messages") == 0)
    }

    @Test("a user deleted while their send is uncommitted: the delete waits for it, and deletes that message too")
    func deleteWhileSending() async throws {
        let live = try await ServerWithPools.start(poolSizes: [1, 1, 1])
        defer { Task { await live.stop() } }
        let (api, writer, deleter, observer) = (live.api, live.pools[0], live.pools[1], live.pools[2])
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let conversation = try await api.startConversation(alice, with: bob.username)
        let (aliceID, conversationID) = (ID.parse(alice.userID)!, ID.parse(conversation)!)
        let repository = PostgresConversationRepository(pool: writer, maxGroupSize: 100)

        // The send statement has inserted its message (having seen alice's participant row) and not committed when
        // the delete starts. The delete must not finish before that commit: its cascade would miss the message.
        let deleted = Finished()
        let delete = try await writer.withTransaction { transaction in
            let sent = try await transaction.query(
                repository.sendStatement(userID: aliceID, conversationID: conversationID, content: "in flight", clientID: nil))
            #expect(sent.count == 1)
            let delete = Task {
                defer { deleted.set() }
                try await deleter.query("DELETE FROM users WHERE id = \(aliceID)")
            }
            try await ServerWithPools.untilLockWaits(observer, unless: deleted)
            #expect(!deleted.isSet, "the delete finished while a send was uncommitted")
            return delete
        }
        try await delete.value

        #expect(try await Self.count(observer, "SELECT count(*) FROM messages WHERE user_id = \(aliceID)") == 0)
        #expect(try await Self.orphans(observer) == 0)
    }

    @Test("a send while a delete of its conversation is uncommitted waits for it, then stores nothing and is refused")
    func sendWhileDeleting() async throws {
        let live = try await ServerWithPools.start(poolSizes: [1, 1])
        defer { Task { await live.stop() } }
        let (api, deleter, observer) = (live.api, live.pools[0], live.pools[1])
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let conversation = try await api.startConversation(alice, with: bob.username)
        try await api.sendMessage(alice, conversation, "before")

        // The delete has removed the conversation (and by cascade its participant rows) and not committed when the
        // send starts: a send that went ahead would see alice's participant row and insert a message the delete's
        // cascade never sees.
        let answered = Finished()
        let send = try await deleter.withTransaction { transaction in
            try await transaction.query("DELETE FROM conversations WHERE id = \(ID.parse(conversation)!)")
            let send = Task {
                defer { answered.set() }
                return try await api.send(
                    .POST, "/api/conversations/\(conversation)/messages", token: alice.token, json: ["content": "during the delete"])
            }
            try await ServerWithPools.untilLockWaits(observer, unless: answered)
            #expect(!answered.isSet, "the send was answered while the delete was uncommitted")
            return send
        }
        let reply = try await send.value

        #expect((400..<500).contains(reply.status), "status \(reply.status)")
        #expect(try await Self.count(observer, "SELECT count(*) FROM messages WHERE conversation_id = \(ID.parse(conversation)!)") == 0)
        #expect(try await Self.orphans(observer) == 0)
    }
}
