import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@Suite("Editing and deleting messages (real sockets, real PostgreSQL)")
struct EditDeleteTests {
    static func path(_ conversation: String, _ message: String) -> String {
        "/api/conversations/\(conversation)/messages/\(message)"
    }

    /// Runs one statement on the server's database off the cooperative pool.
    static func sql(_ server: TestServer, _ query: PostgresQuery) async throws -> PostgresRows {
        let database = server.database
        return try await TestCluster.offPool {
            let connection = try PostgresConnection(configuration: database, logger: TestCluster.logger)
            defer { connection.close() }
            return try connection.query(query)
        }
    }

    @Test("only the author edits, within the window, with the send's normalisation and limits; others get 403 or 404")
    func editPermissions() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob) = (chat.api, chat.alice, chat.bob)
        let eve = try await api.devLogin(uniqueName("e"))
        let sent = try await api.sendMessage(alice, chat.conversation, "first text")
        let id = try #require(sent["id"] as? String)
        #expect(sent["editedAt"] == nil)
        let path = Self.path(chat.conversation, id)

        #expect(try await api.send(.PATCH, path, token: bob.token, json: ["content": "hijack"]).status == 403)
        #expect(try await api.send(.PATCH, path, token: eve.token, json: ["content": "hijack"]).status == 404)
        #expect(try await api.send(.PATCH, Self.path(chat.conversation, "999999999"), token: alice.token, json: ["content": "x"]).status == 404)
        #expect(try await api.send(.PATCH, Self.path(chat.conversation, "abc"), token: alice.token, json: ["content": "x"]).status == 404)
        #expect(try await api.send(.PATCH, path, token: alice.token, json: ["content": "   "]).status == 422)
        let tooLong = try await api.send(.PATCH, path, token: alice.token, json: ["content": String(repeating: "x", count: 481)])
        #expect(tooLong.status == 422)
        #expect((tooLong.object["errors"] as? [String: Any])?["content"] != nil)
        #expect(try await api.send(.PATCH, path, token: alice.token, rawBody: "{", contentType: "application/json").status == 400)

        let edited = try await api.send(.PATCH, path, token: alice.token, json: ["content": "  second\r\ntext  "])
        #expect(edited.status == 200)
        #expect(edited.object["content"] as? String == "second\ntext")
        #expect(edited.object["id"] as? String == id)
        #expect(edited.object["mine"] as? Bool == true)
        #expect(edited.object["editedAt"] as? String != nil)
        #expect(edited.object["createdAt"] as? String == sent["createdAt"] as? String)

        // The conversation list and the message page show the new text and the mark.
        let bobView = try await api.send(.GET, "/api/conversations/\(chat.conversation)", token: bob.token).object
        let last = try #require(bobView["lastMessage"] as? [String: Any])
        #expect(last["content"] as? String == "second\ntext")
        #expect(last["editedAt"] as? String != nil)
        let page = try await api.send(.GET, "/api/conversations/\(chat.conversation)/messages", token: bob.token).array
        #expect(page.first?["content"] as? String == "second\ntext")
        #expect(page.first?["editedAt"] as? String == edited.object["editedAt"] as? String)

        // Past the window (48 h by default) the author gets 403 too.
        _ = try await Self.sql(server, "UPDATE messages SET created_at = now() - interval '49 hours' WHERE id = \(Int64(id)!)")
        let late = try await api.send(.PATCH, path, token: alice.token, json: ["content": "too late"])
        #expect(late.status == 403)
        #expect(late.error != nil)
        let content = try await Self.sql(server, "SELECT content FROM messages WHERE id = \(Int64(id)!)")
        #expect(try content.first?.decode(String.self, at: 0) == "second\ntext")
    }

    @Test("delete leaves a tombstone with the content gone from the row; twice is 204; others get 403 or 404; ids and unread stay")
    func deleteTombstone() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob) = (chat.api, chat.alice, chat.bob)
        let eve = try await api.devLogin(uniqueName("e"))
        let first = try #require(try await api.sendMessage(alice, chat.conversation, "keep me")["id"] as? String)
        let secret = try #require(try await api.sendMessage(alice, chat.conversation, "a secret to delete")["id"] as? String)
        let unreadBefore = try await api.send(.GET, "/api/conversations/\(chat.conversation)", token: bob.token).object["unreadCount"] as? Int
        #expect(unreadBefore == 2)
        let path = Self.path(chat.conversation, secret)

        #expect(try await api.send(.DELETE, path, token: bob.token).status == 403)
        #expect(try await api.send(.DELETE, path, token: eve.token).status == 404)
        #expect(try await api.send(.DELETE, Self.path(chat.conversation, "999999999"), token: alice.token).status == 404)
        #expect(try await api.send(.DELETE, path, token: alice.token).status == 204)
        #expect(try await api.send(.DELETE, path, token: alice.token).status == 204)
        // A tombstone cannot be edited back to life.
        #expect(try await api.send(.PATCH, path, token: alice.token, json: ["content": "back"]).status == 404)

        // Removed from the database, not hidden; exactly one deletion event was written.
        let row = try await Self.sql(
            server,
            "SELECT content, deleted_at IS NOT NULL, (SELECT count(*) FROM stream_events WHERE message_id = m.id AND kind = 'deleted')::bigint FROM messages m WHERE id = \(Int64(secret)!)"
        )
        let (content, deleted, events) = try #require(row.first).decode((String, Bool, Int64).self)
        #expect(content == "")
        #expect(deleted)
        #expect(events == 1)
        let anywhere = try await Self.sql(server, "SELECT count(*)::bigint FROM messages WHERE content LIKE '%secret%'")
        #expect(try anywhere.first?.decode(Int64.self, at: 0) == 0)

        // Paging keeps the id, marked deleted with no text; unread counts and the conversation list are unchanged.
        let page = try await api.send(.GET, "/api/conversations/\(chat.conversation)/messages", token: bob.token).array
        #expect(page.map { $0["id"] as? String } == [secret, first])
        #expect(page.first?["deleted"] as? Bool == true)
        #expect(page.first?["content"] as? String == "")
        #expect(page.last?["deleted"] == nil)
        let bobView = try await api.send(.GET, "/api/conversations/\(chat.conversation)", token: bob.token).object
        #expect(bobView["unreadCount"] as? Int == 2)
        #expect((bobView["lastMessage"] as? [String: Any])?["deleted"] as? Bool == true)
        #expect((bobView["lastMessage"] as? [String: Any])?["content"] as? String == "")
        // Read positions still point at the tombstone.
        let read = try await api.send(.POST, "/api/conversations/\(chat.conversation)/read_messages", token: bob.token, json: ["upTo": secret])
        #expect(read.status == 204)
        #expect(try await api.send(.GET, "/api/conversations/\(chat.conversation)", token: bob.token).object["unreadCount"] as? Int == 0)
    }

    @Test("edits and deletions are stream events live on every stream of every participant, and replayed on resume in order")
    func events() async throws {
        // The safety look is a minute away: edits and deletions must arrive through the wake-up their requests give.
        let server = try await TestServer.start { $0.safetyLookInterval = .seconds(60) }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob) = (chat.api, chat.alice, chat.bob)
        let eve = try await api.devLogin(uniqueName("e"))
        let aliceTab = try await SSEClient.open(server.baseURL, token: alice.token)
        let bobTab1 = try await SSEClient.open(server.baseURL, token: bob.token)
        let bobTab2 = try await SSEClient.open(server.baseURL, token: bob.token)
        let eveStream = try await SSEClient.open(server.baseURL, token: eve.token)
        defer { for client in [aliceTab, bobTab1, bobTab2, eveStream] { client.close() } }

        let one = try #require(try await api.sendMessage(alice, chat.conversation, "one")["id"] as? String)
        let two = try #require(try await api.sendMessage(alice, chat.conversation, "two")["id"] as? String)
        _ = try await bobTab2.arrival(ofMessage: two)
        // Bob's second tab goes away after both messages; it will resume from there.
        let resumeFrom = try #require(bobTab2.lastEventID)
        bobTab2.close()

        #expect(try await api.send(.PATCH, Self.path(chat.conversation, one), token: alice.token, json: ["content": "one, edited"]).status == 200)
        #expect(try await api.send(.DELETE, Self.path(chat.conversation, two), token: alice.token).status == 204)
        #expect(try await api.send(.DELETE, Self.path(chat.conversation, two), token: alice.token).status == 204)

        for client in [aliceTab, bobTab1] {
            let events = try await client.wait { $0.contains { $0.event == "message_deleted" } }
            let updated = try #require(events.first { $0.event == "message_updated" })
            #expect(updated.json["id"] as? String == one)
            #expect(updated.json["content"] as? String == "one, edited")
            #expect(updated.json["editedAt"] as? String != nil)
            #expect(updated.json["conversationId"] as? String == chat.conversation)
            #expect(updated.json["mine"] as? Bool == (client === aliceTab))
            let deleted = try #require(events.first { $0.event == "message_deleted" })
            #expect(deleted.json["id"] as? String == two)
            #expect(deleted.json["deleted"] as? Bool == true)
            #expect(deleted.json["content"] as? String == "")
            // Both carry positions, after the messages they change, in commit order.
            #expect(updated.id != nil && deleted.id != nil)
            let names = events.compactMap(\.event)
            #expect(names.firstIndex(of: "message_updated")! < names.firstIndex(of: "message_deleted")!)
            // The second deletion wrote nothing: one event only.
            #expect(events.filter { $0.event == "message_deleted" }.count == 1)
        }

        // The tab that missed both learns about them on resume, in the same order, with the same ids.
        let resumed = try await SSEClient.connect(server.baseURL, token: bob.token, lastEventID: resumeFrom)
        defer { resumed.close() }
        let replay = try await resumed.wait { $0.contains { $0.event == "message_deleted" } }
        let changes = replay.filter { $0.event == "message_updated" || $0.event == "message_deleted" }
        #expect(changes.map(\.event) == ["message_updated", "message_deleted"])
        #expect(changes.map(\.id) == bobTab1.events.filter { $0.event == "message_updated" || $0.event == "message_deleted" }.map(\.id))
        #expect(changes.first?.json["content"] as? String == "one, edited")
        // Nothing of the conversation before the resume point is replayed.
        #expect(!replay.contains { $0.event == nil && $0.json["id"] as? String == two })

        // An outsider hears nothing of it.
        #expect(!eveStream.events.contains { $0.event == "message_updated" || $0.event == "message_deleted" })
    }

    @Test("an edit replayed after the message was deleted carries the tombstone, never the old text")
    func replayAfterDelete() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob) = (chat.api, chat.alice, chat.bob)
        let bobStream = try await SSEClient.open(server.baseURL, token: bob.token)
        let start = try #require(bobStream.lastEventID)
        bobStream.close()
        let id = try #require(try await api.sendMessage(alice, chat.conversation, "draft")["id"] as? String)
        #expect(try await api.send(.PATCH, Self.path(chat.conversation, id), token: alice.token, json: ["content": "private edit"]).status == 200)
        #expect(try await api.send(.DELETE, Self.path(chat.conversation, id), token: alice.token).status == 204)

        let resumed = try await SSEClient.connect(server.baseURL, token: bob.token, lastEventID: start)
        defer { resumed.close() }
        let replay = try await resumed.wait { $0.contains { $0.event == "message_deleted" } }
        let forMessage = replay.filter { $0.json["id"] as? String == id }
        #expect(forMessage.map(\.event) == [nil, "message_updated", "message_deleted"])
        for event in forMessage {
            #expect(event.json["content"] as? String == "")
            #expect(event.json["deleted"] as? Bool == true)
            #expect(event.data?.contains("draft") == false)
            #expect(event.data?.contains("private edit") == false)
        }
    }
}
