import Foundation
import Testing

@Suite("Conversations and messages over HTTP")
struct ConversationTests {
    @Test("1:1 conversations: 201 then 200, 403 self, 404 unknown, 422 missing, one per pair under a race")
    func direct() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let first = try await api.send(.POST, "/api/conversations", token: alice.token, json: ["username": bob.username])
        #expect(first.status == 201)
        #expect((first.object["otherParticipant"] as? [String: Any])?["username"] as? String == bob.username)
        #expect(first.object["isGroup"] as? Bool == false)
        let again = try await api.send(.POST, "/api/conversations", token: bob.token, json: ["username": alice.username])
        #expect(again.status == 200)
        #expect(again.object["id"] as? String == first.object["id"] as? String)
        #expect(try await api.send(.POST, "/api/conversations", token: alice.token, json: ["username": alice.username]).status == 403)
        #expect(try await api.send(.POST, "/api/conversations", token: alice.token, json: ["username": uniqueName()]).status == 404)
        #expect(try await api.send(.POST, "/api/conversations", token: alice.token, json: [String: String]()).status == 422)

        let carol = try await api.devLogin(uniqueName("c"))
        let dave = try await api.devLogin(uniqueName("d"))
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let (me, other) = index % 2 == 0 ? (carol, dave) : (dave, carol)
                    return try await api.startConversation(me, with: other.username)
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
    }

    @Test("messages: normalisation, limits, paging both ways, idempotent send under a race, unread counts")
    func messages() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let path = "/api/conversations/\(conversation)/messages"

        let normalised = try await api.send(.POST, path, token: alice.token, json: ["content": "  hello    there \n\n\n  second   line  "])
        #expect(normalised.status == 201)
        #expect(normalised.object["content"] as? String == "hello there\nsecond line")
        #expect(normalised.object["mine"] as? Bool == true)
        #expect((normalised.object["user"] as? [String: Any])?["username"] as? String == alice.username)
        #expect(try await api.send(.POST, path, token: alice.token, json: ["content": "   \n  "]).status == 422)
        #expect(try await api.send(.POST, path, token: alice.token, json: ["content": String(repeating: "x", count: 481)]).status == 422)
        #expect(try await api.send(.POST, path, token: alice.token, json: ["content": String(repeating: "x", count: 480)]).status == 201)

        // Idempotent send: racing retries store one message.
        let clientID = UUID().uuidString
        let replies = try await withThrowingTaskGroup(of: APIClient.Reply.self) { group in
            for _ in 0..<6 {
                group.addTask { try await api.send(.POST, path, token: bob.token, json: ["content": "once", "clientId": clientID]) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.filter { $0.status == 201 }.count == 1)
        #expect(replies.filter { $0.status == 200 }.count == 5)
        #expect(Set(replies.compactMap { $0.object["id"] as? String }).count == 1)
        #expect(replies.allSatisfy { $0.object["clientId"] as? String == clientID })

        // Alice has one unread (bob's), bob none.
        let aliceView = try await api.send(.GET, "/api/conversations/\(conversation)", token: alice.token)
        #expect(aliceView.object["unreadCount"] as? Int == 1)
        #expect(aliceView.object["hasUnreadMessages"] as? Bool == true)
        #expect((aliceView.object["lastMessage"] as? [String: Any])?["content"] as? String == "once")
        #expect(try await api.send(.GET, "/api/conversations/\(conversation)", token: bob.token).object["unreadCount"] as? Int == 0)
        #expect(try await api.send(.POST, "/api/conversations/\(conversation)/read_messages", token: alice.token).status == 204)
        #expect(try await api.send(.GET, "/api/conversations/\(conversation)", token: alice.token).object["unreadCount"] as? Int == 0)

        // Paging: 30 more, walk back with before, forward with after.
        for index in 0..<30 { try await api.sendMessage(alice, conversation, "m\(index)") }
        var seen: [String] = []
        var before: String?
        while true {
            let query = before.map { "?before=\($0)&last=7" } ?? "?last=7"
            let page = try await api.send(.GET, path + query, token: bob.token).array
            if page.isEmpty { break }
            seen += page.map { $0["id"] as! String }
            before = page.last!["id"] as? String
        }
        #expect(seen.count == 33)
        #expect(Set(seen).count == 33)
        #expect(seen == seen.sorted { Int64($0)! > Int64($1)! })
        let forward = try await api.send(.GET, path + "?after=\(seen.last!)&first=100", token: bob.token).array
        #expect(forward.map { $0["id"] as! String } == Array(seen.reversed().dropFirst()))
        #expect(try await api.send(.GET, path + "?last=101", token: bob.token).status == 400)
        #expect(try await api.send(.GET, path + "?before=abc", token: bob.token).status == 400)
    }

    @Test("groups: create, members, add, 409, leave, left members see nothing new")
    func groups() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let users = try await (0..<4).asyncMap { _ in try await api.devLogin(uniqueName("g")) }
        let created = try await api.send(
            .POST,
            "/api/conversations",
            token: users[0].token,
            json: ["title": "Team", "usernames": [users[1].username, users[2].username]]
        )
        #expect(created.status == 201)
        #expect(created.object["isGroup"] as? Bool == true)
        #expect(created.object["participantCount"] as? Int == 3)
        #expect(created.object["otherParticipant"] is NSNull)
        let id = try #require(created.object["id"] as? String)
        let unknown = try await api.send(.POST, "/api/conversations", token: users[0].token, json: ["title": "X", "usernames": ["nobody-\(UUID())"]])
        #expect(unknown.status == 404)
        #expect((unknown.object["usernames"] as? [String])?.count == 1)
        #expect(
            try await api.send(.POST, "/api/conversations", token: users[0].token, json: ["title": "", "usernames": [users[1].username]]).status
                == 422)
        #expect(try await api.send(.POST, "/api/conversations", token: users[0].token, json: ["title": "T", "usernames": [String]()]).status == 422)

        #expect(try await api.send(.GET, "/api/conversations/\(id)/other_participant", token: users[0].token).status == 404)
        #expect(
            try await api.send(.POST, "/api/conversations/\(id)/participants", token: users[1].token, json: ["username": users[3].username]).status
                == 201)
        #expect(
            try await api.send(.POST, "/api/conversations/\(id)/participants", token: users[1].token, json: ["username": users[3].username]).status
                == 409)
        let participants = try await api.send(.GET, "/api/conversations/\(id)/participants", token: users[3].token).array
        #expect(participants.count == 4)
        #expect(participants.allSatisfy { $0.keys.contains("lastReadMessageId") })

        #expect(try await api.send(.DELETE, "/api/conversations/\(id)/participants/me", token: users[2].token).status == 204)
        try await api.sendMessage(users[0], id, "after leaving")
        #expect(try await api.send(.GET, "/api/conversations/\(id)/messages", token: users[2].token).status == 404)
        let list = try await api.send(.GET, "/api/conversations", token: users[2].token).array
        #expect(!list.contains { $0["id"] as? String == id })

        let direct = try await api.startConversation(users[0], with: users[1].username)
        #expect(
            try await api.send(.POST, "/api/conversations/\(direct)/participants", token: users[0].token, json: ["username": users[3].username])
                .status == 422)
        #expect(try await api.send(.DELETE, "/api/conversations/\(direct)/participants/me", token: users[0].token).status == 422)
    }

    @Test("listing walks every conversation exactly once, newest activity first, while new ones arrive")
    func listing() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let me = try await api.devLogin(uniqueName("l"))
        var ids: [String] = []
        for _ in 0..<12 {
            let other = try await api.devLogin(uniqueName("o"))
            ids.append(try await api.startConversation(me, with: other.username))
        }
        try await api.sendMessage(me, ids[0], "bump the oldest")
        var walked: [String] = []
        var cursor: String?
        while true {
            let query = cursor.map { "?first=5&before=\($0)" } ?? "?first=5"
            let page = try await api.send(.GET, "/api/conversations\(query)", token: me.token).array
            if page.isEmpty { break }
            if cursor == nil {
                #expect(page.first?["id"] as? String == ids[0])
                // New conversations appear at the top and never disturb the walk.
                let other = try await api.devLogin(uniqueName("n"))
                _ = try await api.startConversation(me, with: other.username)
            }
            walked += page.map { $0["id"] as! String }
            cursor = page.last?["cursor"] as? String
        }
        #expect(walked.count == 12)
        #expect(Set(walked) == Set(ids))
        #expect(try await api.send(.GET, "/api/conversations?before=garbage", token: me.token).status == 400)
        #expect(try await api.send(.GET, "/api/conversations?before=-227338806621828628_52", token: me.token).status == 400)
        #expect(try await api.send(.GET, "/api/conversations?first=0", token: me.token).status == 400)
    }

    @Test("a non-participant gets 404 on every conversation route")
    func outsiders() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let eve = try await api.devLogin(uniqueName("e"))
        let id = try await api.startConversation(alice, with: bob.username)
        let message = try await api.sendMessage(alice, id, "private")
        let probes: [(APIClient.Reply)] = [
            try await api.send(.GET, "/api/conversations/\(id)", token: eve.token),
            try await api.send(.GET, "/api/conversations/\(id)/other_participant", token: eve.token),
            try await api.send(.GET, "/api/conversations/\(id)/participants", token: eve.token),
            try await api.send(.POST, "/api/conversations/\(id)/participants", token: eve.token, json: ["username": eve.username]),
            try await api.send(.DELETE, "/api/conversations/\(id)/participants/me", token: eve.token),
            try await api.send(.GET, "/api/conversations/\(id)/messages", token: eve.token),
            try await api.send(.POST, "/api/conversations/\(id)/messages", token: eve.token, json: ["content": "hi"]),
            try await api.send(.POST, "/api/conversations/\(id)/read_messages", token: eve.token),
            try await api.send(.POST, "/api/conversations/\(id)/read_messages", token: eve.token, json: ["upTo": message["id"] as! String]),
            try await api.send(.GET, "/api/conversations/abc", token: eve.token),
            try await api.send(.GET, "/api/conversations/99999999999999999999", token: eve.token),
        ]
        for probe in probes {
            #expect(probe.status == 404)
            #expect(probe.error != nil)
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
