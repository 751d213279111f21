import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@Suite("Search and messages around a hit")
struct SearchTests {
    static func search(_ api: APIClient, _ session: APIClient.Session, _ q: String, extra: String = "") async throws -> APIClient.Reply {
        let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return try await api.send(.GET, "/api/search?q=\(encoded)\(extra)", token: session.token)
    }

    static func hits(_ reply: APIClient.Reply) -> [[String: Any]] {
        (reply.object["messages"] as? [[String: Any]]) ?? []
    }

    static func messageIDs(_ reply: APIClient.Reply) -> [String] {
        Self.hits(reply).compactMap { ($0["message"] as? [String: Any])?["id"] as? String }
    }

    @Test("only the caller's conversations are searched, also after leaving a group; names in their own lists")
    func permissions() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob) = (chat.api, chat.alice, chat.bob)
        let carol = try await api.devLogin(uniqueName("c"))
        let dave = try await api.devLogin(uniqueName("d"))
        let mine = try await api.sendMessage(alice, chat.conversation, "the pineapple plan is on")
        let theirs = try await api.startConversation(carol, with: dave.username)
        _ = try await api.sendMessage(carol, theirs, "a pineapple only carol and dave see")
        let group = try await api.createGroup(alice, title: "Fruit club", usernames: [bob.username, carol.username])
        let inGroup = try await api.sendMessage(bob, group, "pineapple for the club")

        let aliceReply = try await Self.search(api, alice, "pineapple")
        #expect(aliceReply.status == 200)
        #expect(Set(Self.messageIDs(aliceReply)) == [mine["id"] as! String, inGroup["id"] as! String])
        let carolReply = try await Self.search(api, carol, "pineapple")
        #expect(Set(Self.messageIDs(carolReply)).count == 2)
        #expect(Self.messageIDs(carolReply).contains(inGroup["id"] as! String))
        #expect(!Self.messageIDs(carolReply).contains(mine["id"] as! String))
        // Each hit names its conversation: the other person for 1:1, the title for a group.
        for hit in Self.hits(aliceReply) {
            let conversation = hit["conversation"] as? [String: Any]
            if conversation?["id"] as? String == group {
                #expect(conversation?["title"] as? String == "Fruit club")
                #expect(conversation?["isGroup"] as? Bool == true)
            } else {
                #expect((conversation?["otherParticipant"] as? [String: Any])?["username"] as? String == bob.username)
            }
        }

        // Carol leaves the group: its messages are no longer hers to find; the others still find them.
        #expect(try await api.send(.DELETE, "/api/conversations/\(group)/participants/me", token: carol.token).status == 204)
        #expect(!Self.messageIDs(try await Self.search(api, carol, "pineapple")).contains(inGroup["id"] as! String))
        #expect(Self.messageIDs(try await Self.search(api, bob, "pineapple")).contains(inGroup["id"] as! String))

        // Conversations by name: only one's own; people by name prefix, never oneself.
        let byTitle = try await Self.search(api, alice, "fruit")
        #expect((byTitle.object["conversations"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [group])
        #expect(((try await Self.search(api, carol, "fruit")).object["conversations"] as? [[String: Any]])?.isEmpty == true)
        let byPerson = try await Self.search(api, alice, bob.username)
        #expect((byPerson.object["conversations"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [chat.conversation])
        #expect((byPerson.object["people"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == [bob.username])
        let daveFromAlice = try await Self.search(api, alice, dave.username)
        #expect((daveFromAlice.object["conversations"] as? [[String: Any]])?.isEmpty == true)
        #expect(((try await Self.search(api, alice, alice.username)).object["people"] as? [[String: Any]])?.isEmpty == true)
        #expect(try await api.send(.GET, "/api/search?q=pineapple").status == 401)
    }

    @Test("ranking: more matches first, newest first among equals; prefix on the last word; snippets as parts")
    func rankingAndPrefix() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let once = try await api.sendMessage(alice, conversation, "kiwi for breakfast")
        let thrice = try await api.sendMessage(bob, conversation, "kiwi kiwi kiwi and a banana")
        let onceAgain = try await api.sendMessage(alice, conversation, "one more kiwi for lunch")
        _ = try await api.sendMessage(alice, conversation, "nothing to see here")

        let reply = try await Self.search(api, alice, "kiwi")
        #expect(Self.messageIDs(reply) == [thrice["id"], onceAgain["id"], once["id"]].map { $0 as! String })
        // Prefix on the last word; the earlier words are whole words.
        #expect(Self.messageIDs(try await Self.search(api, alice, "ki")) == Self.messageIDs(reply))
        #expect(Self.messageIDs(try await Self.search(api, alice, "banana ki")) == [thrice["id"] as! String])
        #expect(Self.messageIDs(try await Self.search(api, alice, "KIWI LUN")) == [onceAgain["id"] as! String])
        #expect(Self.messageIDs(try await Self.search(api, alice, "bana kiwi")).isEmpty)

        let hit = Self.hits(try await Self.search(api, alice, "lunc")).first
        let parts = (hit?["snippet"] as? [[String: Any]]) ?? []
        #expect(parts.map { $0["text"] as? String ?? "" }.joined() == "one more kiwi for lunch")
        #expect(parts.filter { $0["match"] as? Bool == true }.map { $0["text"] as? String } == ["lunch"])
        #expect((hit?["message"] as? [String: Any])?["mine"] as? Bool == true)

        // The index follows the content: an edited message is found by its new text only (and says it was edited),
        // a deleted one (its content is emptied in the row) by nothing. Through the API, as a user does it.
        let edit = try await api.send(
            .PATCH,
            "/api/conversations/\(conversation)/messages/\(once["id"] as! String)",
            token: alice.token,
            json: ["content": "a durian now"]
        )
        #expect(edit.status == 200)
        let delete = try await api.send(
            .DELETE,
            "/api/conversations/\(conversation)/messages/\(onceAgain["id"] as! String)",
            token: alice.token
        )
        #expect(delete.status == 204)
        #expect(Self.messageIDs(try await Self.search(api, alice, "kiwi")) == [thrice["id"] as! String])
        let durian = try await Self.search(api, alice, "durian")
        #expect(Self.messageIDs(durian) == [once["id"] as! String])
        #expect((Self.hits(durian).first?["message"] as? [String: Any])?["editedAt"] is String)
        #expect(Self.messageIDs(try await Self.search(api, alice, "lunch")).isEmpty)
    }

    @Test("hostile queries: operators, quotes, NUL, 1,000 characters, emoji — never a 5xx")
    func hostileQueries() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice) = (chat.api, chat.alice)
        let quoted = try await api.sendMessage(alice, chat.conversation, "don't panic: it's (a & b) | !c 🎉")
        let hostile = [
            "\"", "'", "''", "&|!:*()", "a & b", "!!", "foo:*", "\\", "'a':*", "(((", "a <-> b", "a:A", "*", ":*", "🎉",
            "🎉 🎉", "don't", "\"don't panic\"", "-panic", "panic OR x", "a\u{E000}b", "ß", "日本語", String(repeating: "x", count: 1000),
            String(repeating: "ab ", count: 333), String(repeating: "🎉", count: 1000), "%", "_", "\u{1}", "\u{202E}abc",
        ]
        for q in hostile {
            let reply = try await Self.search(api, alice, q)
            #expect(reply.status == 200, "q=\(q.prefix(20).debugDescription) → \(reply.status) \(reply.error ?? "")")
        }
        #expect(Self.messageIDs(try await Self.search(api, alice, "don't")) == [quoted["id"] as! String])
        #expect(Self.messageIDs(try await Self.search(api, alice, "(a & b) | !c")) == [quoted["id"] as! String])
        #expect(Self.messageIDs(try await Self.search(api, alice, "\"panic: it's\"")) == [quoted["id"] as! String])
        #expect(try await Self.search(api, alice, String(repeating: "x", count: 1001)).status == 422)
        #expect(try await api.send(.GET, "/api/search?q=a%00b", token: alice.token).status == 422)
        #expect(try await api.send(.GET, "/api/search?q=%ED%A0%80", token: alice.token).status == 422)
        #expect(try await api.send(.GET, "/api/search", token: alice.token).status == 422)
        #expect(try await api.send(.GET, "/api/search?q=%20%20", token: alice.token).status == 422)
        for bad in ["x", "1.2.3", "1.0000000000000000.0", "1.7FF0000000000000.5", "-1.3ff0000000000000.5", "1.3ff00.5"] {
            #expect(try await Self.search(api, alice, "panic", extra: "&cursor=\(bad)").status == 400)
        }
        #expect(try await Self.search(api, alice, "panic", extra: "&first=0").status == 400)
        #expect(try await Self.search(api, alice, "panic", extra: "&first=51").status == 400)
    }

    @Test("paging: every match exactly once across pages and ranking windows, in rank order within a window")
    func pagination() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice) = (chat.api, chat.alice)
        // 1,203 matches (six ranking windows of 200 and a part) written straight into the table, plus non-matches.
        let admin = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await admin.shutdown() } }
        let rows = try await admin.query(
            """
            INSERT INTO messages (content, user_id, conversation_id)
            SELECT CASE WHEN n % 4 = 0 THEN 'no match ' || n ELSE repeat('papaya ', n % 3 + 1) || n END,
                   \(Int64(alice.userID)!), \(Int64(chat.conversation)!)
            FROM generate_series(1, 1604) n
            RETURNING id, content
            """
        )
        let expected = Set(
            try rows.compactMap { row -> String? in
                let (id, content) = try row.decode((Int64, String).self)
                return content.hasPrefix("papaya") ? String(id) : nil
            })
        #expect(expected.count == 1203)

        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let reply = try await Self.search(api, alice, "papaya", extra: "&first=50" + (cursor.map { "&cursor=\($0)" } ?? ""))
            #expect(reply.status == 200)
            let ids = Self.messageIDs(reply)
            seen += ids
            cursor = reply.object["nextCursor"] as? String
            pages += 1
            if pages == 1 {
                // The newest window ranked: three papayas before two before one, newest first among equals.
                let counts = Self.hits(reply).map { (($0["message"] as? [String: Any])?["content"] as? String ?? "").split(separator: " ").count - 1 }
                #expect(counts == counts.sorted(by: >))
                #expect(counts.first == 3)
                #expect(((reply.object["conversations"] as? [[String: Any]]) != nil))
            } else {
                #expect((reply.object["conversations"] as? [[String: Any]])?.isEmpty == true)
            }
        } while cursor != nil && pages < 40
        #expect(seen.count == expected.count)
        #expect(Set(seen) == expected)
        #expect(pages == 25)

        // A sparse word (1 in 60 of 15,000 newer messages): a window is not filled by the walk down the newest
        // messages, so the index finds it; paging across its windows is exactly-once as well.
        let sparse = try await admin.query(
            """
            INSERT INTO messages (content, user_id, conversation_id)
            SELECT CASE WHEN n % 60 = 0 THEN 'guava ' || n ELSE 'filler ' || n END, \(Int64(alice.userID)!), \(Int64(chat.conversation)!)
            FROM generate_series(1, 15000) n
            RETURNING id, content
            """
        )
        let guavas = Set(
            try sparse.compactMap { row -> String? in
                let (id, content) = try row.decode((Int64, String).self)
                return content.hasPrefix("guava") ? String(id) : nil
            }
        )
        #expect(guavas.count == 250)
        var found: [String] = []
        cursor = nil
        pages = 0
        repeat {
            let reply = try await Self.search(api, alice, "guava", extra: "&first=50" + (cursor.map { "&cursor=\($0)" } ?? ""))
            found += Self.messageIDs(reply)
            cursor = reply.object["nextCursor"] as? String
            pages += 1
        } while cursor != nil && pages < 20
        #expect(found.count == 250)
        #expect(Set(found) == guavas)
    }

    @Test("around: a page centred on a message, then older and newer pages without gaps or duplicates")
    func around() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        var ids: [String] = []
        for index in 0..<60 { ids.append(try await api.sendMessage(index % 2 == 0 ? alice : bob, conversation, "line \(index)")["id"] as! String) }
        let path = "/api/conversations/\(conversation)/messages"

        let centre = try await api.send(.GET, "\(path)?around=\(ids[30])&last=5&first=4", token: alice.token)
        #expect(centre.status == 200)
        let page = (centre.object["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(page == Array(ids[25...34]))
        #expect(centre.object["before"] as? String == ids[25])
        #expect(centre.object["after"] as? String == ids[34])

        // Walk both ways from there with the ordinary cursors: everything once, in order.
        var older: [String] = []
        var before = centre.object["before"] as? String
        while let cursor = before {
            let reply = try await api.send(.GET, "\(path)?before=\(cursor)&last=7", token: alice.token)
            let batch = reply.array.compactMap { $0["id"] as? String }
            older = batch.reversed() + older
            before = batch.count == 7 ? batch.last : nil
        }
        var newer: [String] = []
        var after = centre.object["after"] as? String
        while let cursor = after {
            let reply = try await api.send(.GET, "\(path)?after=\(cursor)&first=7", token: alice.token)
            let batch = reply.array.compactMap { $0["id"] as? String }
            newer += batch
            after = batch.count == 7 ? batch.last : nil
        }
        #expect(older + page! + newer == ids)

        // Near the ends the cursors say there is nothing more.
        let first = try await api.send(.GET, "\(path)?around=\(ids[1])&last=5&first=5", token: bob.token)
        #expect((first.object["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(ids[0...6]))
        #expect(first.object["before"] is NSNull)
        #expect(first.object["after"] as? String == ids[6])
        let last = try await api.send(.GET, "\(path)?around=\(ids[59])", token: bob.token)
        #expect((last.object["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(ids[44...59]))
        #expect(last.object["after"] is NSNull)
        #expect(last.object["before"] as? String == ids[44])

        // Not a participant, a message of another conversation, bad ids.
        let carol = try await api.devLogin(uniqueName("c"))
        #expect(try await api.send(.GET, "\(path)?around=\(ids[30])", token: carol.token).status == 404)
        let elsewhere = try await api.startConversation(carol, with: alice.username)
        let foreign = try await api.sendMessage(carol, elsewhere, "elsewhere")["id"] as! String
        #expect(try await api.send(.GET, "\(path)?around=\(foreign)", token: alice.token).status == 404)
        #expect(try await api.send(.GET, "\(path)?around=abc", token: alice.token).status == 400)
        #expect(try await api.send(.GET, "\(path)?around=\(ids[3])&before=x", token: alice.token).status == 400)
        let ignored = try await api.send(.GET, "\(path)?around=\(ids[3])&before=\(ids[2])&after=0&last=1&first=1", token: alice.token)
        #expect((ignored.object["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(ids[2...4]))
        #expect(try await api.send(.GET, "\(path)?around=\(ids[3])&first=0", token: alice.token).status == 400)
    }
}
