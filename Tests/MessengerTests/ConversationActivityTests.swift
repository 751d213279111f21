import Foundation
import MessengerApp
import PostgresLibPQ
import PostgresTestSupport
import Testing

/// The listing's order by activity across 1:1 conversations, small groups and large ones, through sends, joins and
/// leaves, and for a user in many conversations, whose page comes from the activity copies on their participant rows
/// (schema/0010) merged with the conversation rows of everyone else.
@Suite("Conversation listing by activity: 1:1, small and large groups, users in many conversations")
struct ConversationActivityTests {
    /// A group larger than the 32 members the per-participant copy was limited to.
    static let largeGroupSize = 34

    /// `many_conversations()` in schema/0010: from this many conversations on, a user's rows keep activity copies.
    static let manyConversations = 100

    /// Every conversation of `session`, walked page by page with cursors of `pageSize`.
    func walk(_ api: APIClient, _ session: APIClient.Session, pageSize: Int) async throws -> [String] {
        var walked: [String] = []
        var cursor: String?
        while true {
            let query = cursor.map { "?first=\(pageSize)&before=\($0)" } ?? "?first=\(pageSize)"
            let response = try await api.send(.GET, "/api/conversations\(query)", token: session.token)
            #expect(response.status == 200)
            let page = response.array
            if page.isEmpty { return walked }
            walked += page.map { $0["id"] as! String }
            cursor = page.last?["cursor"] as? String
        }
    }

    @Test("sends reorder 1:1, small and large groups alike; every page size walks them once in that order")
    func mixedOrdering() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let me = try await api.devLogin(uniqueName("act"))
        let others = try await (0..<(Self.largeGroupSize - 1)).asyncMap { _ in try await api.devLogin(uniqueName("m")) }
        let direct1 = try await api.startConversation(me, with: others[0].username)
        let large = try await api.createGroup(me, title: "Large", usernames: others.map(\.username))
        let direct2 = try await api.startConversation(me, with: others[1].username)
        let small = try await api.createGroup(me, title: "Small", usernames: [others[2].username, others[3].username])
        let direct3 = try await api.startConversation(others[4], with: me.username)
        // Newest first: creation order reversed.
        #expect(try await self.walk(api, me, pageSize: 25) == [direct3, small, direct2, large, direct1])

        // Each send moves its conversation to the top, whoever sends and whatever the conversation's size.
        var expected = [direct3, small, direct2, large, direct1]
        for (conversation, sender) in [(large, others[10]), (direct1, me), (small, others[3]), (large, me), (direct2, others[1])] {
            try await api.sendMessage(sender, conversation, "bump")
            expected.removeAll { $0 == conversation }
            expected.insert(conversation, at: 0)
            for pageSize in [1, 2, 25] {
                #expect(try await self.walk(api, me, pageSize: pageSize) == expected)
            }
        }
        // Another member sees the large group and the 1:1 conversations in the same merged order.
        try await api.sendMessage(others[0], direct1, "bump")
        #expect(try await self.walk(api, others[0], pageSize: 1) == [direct1, large])
        try await api.sendMessage(others[0], large, "bump")
        #expect(try await self.walk(api, others[0], pageSize: 1) == [large, direct1])
        // The listing's activity is the same the conversation itself reports (its cursor), in either source.
        for conversation in [large, direct1] {
            let single = try await api.send(.GET, "/api/conversations/\(conversation)", token: others[0].token).object
            let listed = try await api.send(.GET, "/api/conversations", token: others[0].token).array.first { $0["id"] as? String == conversation }
            #expect(single["cursor"] as? String != nil)
            #expect(single["cursor"] as? String == listed?["cursor"] as? String)
        }
    }

    @Test("a group growing past 32 members by joins, shrinking by leaves and growing again keeps its order for everyone")
    func joinsAndLeaves() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let owner = try await api.devLogin(uniqueName("own"))
        let members = try await (0..<(Self.largeGroupSize + 2)).asyncMap { _ in try await api.devLogin(uniqueName("j")) }
        // Starts at 31 members (owner + 30), below 32.
        let group = try await api.createGroup(owner, title: "Growing", usernames: members[0..<30].map(\.username))
        let direct = try await api.startConversation(owner, with: members[0].username)
        #expect(try await self.walk(api, members[0], pageSize: 1) == [direct, group])

        // Joining does not bump activity: the newcomer sees the group below its newer 1:1 conversation.
        let newcomerDirect = try await api.startConversation(members[33], with: members[34].username)
        for index in 30..<34 {
            let added = try await api.send(
                .POST, "/api/conversations/\(group)/participants", token: owner.token, json: ["username": members[index].username])
            #expect(added.status == 201)
        }
        #expect(try await self.walk(api, members[33], pageSize: 1) == [newcomerDirect, group])
        // Now 35 members, past 32: a send still moves it up for old and new members.
        try await api.sendMessage(members[5], group, "past the limit")
        #expect(try await self.walk(api, members[33], pageSize: 1) == [group, newcomerDirect])
        #expect(try await self.walk(api, members[0], pageSize: 1) == [group, direct])
        try await api.sendMessage(owner, direct, "direct again")
        #expect(try await self.walk(api, members[0], pageSize: 1) == [direct, group])

        // Shrink below 32, add someone new.
        for index in 10..<20 {
            #expect(try await api.send(.DELETE, "/api/conversations/\(group)/participants/me", token: members[index].token).status == 204)
            #expect(try await self.walk(api, members[index], pageSize: 1).isEmpty)
        }
        let late = members[35]
        let lateDirect = try await api.startConversation(late, with: owner.username)
        #expect(
            try await api.send(.POST, "/api/conversations/\(group)/participants", token: owner.token, json: ["username": late.username]).status
                == 201)
        #expect(try await self.walk(api, late, pageSize: 1) == [lateDirect, group])
        try await api.sendMessage(members[0], group, "after shrinking")
        #expect(try await self.walk(api, late, pageSize: 1) == [group, lateDirect])
        #expect(try await self.walk(api, members[0], pageSize: 1) == [group, direct])
        #expect(try await self.walk(api, owner, pageSize: 2) == [group, lateDirect, direct])
        try await api.sendMessage(owner, lateDirect, "hi")
        #expect(try await self.walk(api, owner, pageSize: 1) == [lateDirect, group, direct])
        // Left members never see it again, whatever it does.
        #expect(try await self.walk(api, members[10], pageSize: 1).isEmpty)
    }

    @Test("a user in many conversations: their page follows every send (copies), before and after the threshold")
    func manyConversations() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let busy = try await api.devLogin(uniqueName("busy"))
        let others = try await (0..<(Self.manyConversations + 2)).asyncMap { _ in try await api.devLogin(uniqueName("o")) }
        var partner: [String: APIClient.Session] = [:]
        // Below the threshold first (no copies yet), then past it: the conversations from before get their copies.
        var expected: [String] = []
        for other in others.prefix(Self.manyConversations - 1) {
            let conversation = try await api.startConversation(busy, with: other.username)
            partner[conversation] = other
            expected.insert(conversation, at: 0)
        }
        try await api.sendMessage(busy, expected.last!, "before the threshold")
        expected.insert(expected.removeLast(), at: 0)
        #expect(try await self.walk(api, busy, pageSize: 25) == expected)
        for other in others.suffix(3) {
            let conversation = try await api.startConversation(other, with: busy.username)
            partner[conversation] = other
            expected.insert(conversation, at: 0)
        }
        #expect(expected.count == Self.manyConversations + 2)
        #expect(try await self.walk(api, busy, pageSize: 25) == expected)

        // Sends in old and new conversations, by either side (the busy user's copy must move; the other's row has
        // none), and in a group created after the threshold.
        let group = try await api.createGroup(busy, title: "Busy group", usernames: [others[0].username, others[1].username])
        expected.insert(group, at: 0)
        for (step, index) in [expected.count - 1, 50, expected.count - 2, 0, 7, 60].enumerated() {
            let conversation = expected[index]
            let sender = step % 2 == 0 ? busy : partner[conversation] ?? others[0]
            try await api.sendMessage(sender, conversation, "bump \(step)")
            expected.remove(at: index)
            expected.insert(conversation, at: 0)
            for pageSize in [1, 25, 100] {
                #expect(try await self.walk(api, busy, pageSize: pageSize) == expected)
            }
            // The other side (no copies) sees it on top too.
            if let other = partner[conversation] {
                #expect(try await self.walk(api, other, pageSize: 25).first == conversation)
            }
        }
        // The page's activity is the same the conversation itself reports (its cursor).
        let top = expected[0]
        let single = try await api.send(.GET, "/api/conversations/\(top)", token: busy.token).object
        let listed = try await api.send(.GET, "/api/conversations?first=1", token: busy.token).array.first
        #expect(single["cursor"] as? String == listed?["cursor"] as? String)
    }

    /// How a user's row gets an activity copy while a send is under way (schema/0010's trigger).
    enum CopyTaken: String, CaseIterable, CustomTestStringConvertible {
        /// A user who keeps copies joins the conversation: the new row takes one.
        case join
        /// A user reaches `many_conversations()`: all their rows, the conversation's among them, take one.
        case threshold

        var testDescription: String { self.rawValue }
    }

    @Test(
        "a send racing a transaction that takes activity copies leaves every copy equal to its conversation's activity",
        arguments: CopyTaken.allCases)
    func sendRacingCopies(_ race: CopyTaken) async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let busy = try await api.devLogin(uniqueName("busy"))
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        // The conversation the send goes to, older than all of the busy user's others: a copy left at its old
        // activity lists it last instead of first.
        let target = try await api.createGroup(
            alice, title: "Target", usernames: race == .threshold ? [bob.username, busy.username] : [bob.username])
        // The busy user's other conversations: past the threshold (copies already) for a join; one short of it, with
        // the joined row making the count, for the threshold.
        let others = race == .join ? Self.manyConversations : Self.manyConversations - 2
        for _ in 0..<others {
            let other = try await api.devLogin(uniqueName("o"))
            _ = try await api.startConversation(busy, with: other.username)
        }
        let joined = race == .join ? target : try await api.createGroup(alice, title: "Joined", usernames: [bob.username])

        let writer = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        let observer = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        defer {
            Task {
                await writer.shutdown()
                await observer.shutdown()
            }
        }
        // The join's transaction takes the copies, then stays open while the send runs: the send must either wait for
        // it or (not seeing its rows) repair them afterwards. It commits once the send has finished or is waiting for
        // a lock.
        let sent = Finished()
        let send = try await writer.withTransaction { transaction in
            try await transaction.query(
                "INSERT INTO participants (user_id, conversation_id) VALUES (\(ID.parse(busy.userID)!), \(ID.parse(joined)!))")
            let send = Task {
                defer { sent.set() }
                _ = try await api.sendMessage(alice, target, "while copies are taken")
            }
            try await ServerWithPools.untilLockWaits(observer, unless: sent)
            return send
        }
        try await send.value

        let stale = try await observer.query(
            """
            SELECT count(*) FROM participants p JOIN conversations c ON c.id = p.conversation_id
            WHERE p.activity_at IS NOT NULL AND p.activity_at <> c.last_activity_at
            """
        ).first!.decode(Int64.self, at: 0)
        #expect(stale == 0, "activity copies left behind their conversation's activity")
        let copies = try await observer.query(
            "SELECT count(*) FROM participants WHERE user_id = \(ID.parse(busy.userID)!) AND activity_at IS NOT NULL"
        ).first!.decode(Int64.self, at: 0)
        #expect(copies == Int64(Self.manyConversations + 1 - (race == .threshold ? 1 : 0)))
        // Through the API: the conversation just written to is the busy user's newest.
        #expect(try await self.walk(api, busy, pageSize: 25).first == target)
    }
}
