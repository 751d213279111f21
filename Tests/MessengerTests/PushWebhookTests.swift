import Foundation
import MessengerApp
import PostgresLibPQ
import PostgresTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Push webhook for offline recipients (real receiver, real PostgreSQL)")
struct PushWebhookTests {
    static let secret = "push-test-secret-0123456789"

    /// One outbox row as the tests look at it.
    struct Row: Equatable {
        var recipientID: String
        var state: String
        var attempts: Int
        var messageCount: Int
        var messageID: String
    }

    static func outbox(_ database: PostgresConfiguration) async throws -> [Row] {
        try await TestCluster.offPool {
            let connection = try PostgresConnection(configuration: database, logger: TestCluster.logger)
            defer { connection.close() }
            return try connection.query(
                "SELECT recipient_id::text, state, attempts, message_count, message_id::text FROM push_outbox ORDER BY id"
            ).map { row in
                let (recipient, state, attempts, count, message) = try row.decode((String, String, Int, Int, String).self)
                return Row(recipientID: recipient, state: state, attempts: attempts, messageCount: count, messageID: message)
            }
        }
    }

    /// Polls the outbox until `condition` holds (the worker's progress is only visible there and at the receiver).
    static func waitForOutbox(
        _ database: PostgresConfiguration,
        timeout: Duration = .seconds(30),
        _ condition: ([Row]) -> Bool
    ) async throws -> [Row] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let rows = try await Self.outbox(database)
            if condition(rows) { return rows }
            if ContinuousClock.now > deadline { throw TestFailure("outbox never reached the expected state: \(rows)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func server(
        _ receiver: PushReceiver,
        coalesce: Duration = .milliseconds(200),
        timeout: Duration = .seconds(10)
    ) async throws -> TestServer {
        try await Self.server(url: receiver.url, coalesce: coalesce, timeout: timeout)
    }

    /// A server whose webhook is `url`.
    static func server(
        url: String,
        coalesce: Duration = .milliseconds(200),
        timeout: Duration = .seconds(10)
    ) async throws -> TestServer {
        try await TestServer.start {
            $0.pushTimeout = timeout
            $0.pushWebhookURL = url
            $0.pushSecret = Array(Self.secret.utf8)
            $0.pushCoalesceWindow = coalesce
            $0.pushBackoffBase = .milliseconds(100)
            $0.pushPollInterval = .milliseconds(200)
            $0.presenceGrace = .seconds(1)
            $0.metricsPort = 0
        }
    }

    /// Waits until the API reports `session`'s presence as `online` to `viewer` (presence is written off the stream's
    /// path by a batched worker).
    static func waitForPresence(_ api: APIClient, viewer: APIClient.Session, conversation: String, user: String, online: Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let participants = try await api.send(.GET, "/api/conversations/\(conversation)/participants", token: viewer.token).array
            if participants.first(where: { $0["id"] as? String == user })?["online"] as? Bool == online { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("presence of \(user) never became \(online)")
    }

    @Test("an offline recipient gets one signed push with the payload; an online one gets no outbox row at all")
    func deliveredSigned() async throws {
        let receiver = PushReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let server = try await Self.server(receiver)
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let carol = try await api.devLogin(uniqueName("c"))
        let group = try await api.createGroup(alice, title: "trio", usernames: [bob.username, carol.username])
        let carolStream = try await SSEClient.open(server.baseURL, token: carol.token)
        defer { carolStream.close() }
        try await Self.waitForPresence(api, viewer: alice, conversation: group, user: carol.userID, online: true)

        let sent = try await api.sendMessage(alice, group, "hello bob, are you there?")
        let messageID = try #require(sent["id"] as? String)
        // Recorded in the send's transaction: the row is there as soon as the send answered, for Bob only.
        let recorded = try await Self.outbox(server.database)
        #expect(recorded.map(\.recipientID) == [bob.userID])

        let rows = try await Self.waitForOutbox(server.database) { $0.first?.state == "delivered" }
        #expect(rows.count == 1)
        #expect(receiver.requests.count == 1)
        let request = try #require(receiver.accepted.first)
        #expect(PushReceiver.verify(request, secret: Self.secret))
        #expect(!PushReceiver.verify(request, secret: "another-secret-0123456789"))
        var tampered = request
        tampered.body = Data(String(decoding: request.body, as: UTF8.self).replacingOccurrences(of: "bob", with: "eve").utf8)
        #expect(!PushReceiver.verify(tampered, secret: Self.secret))
        #expect(request.contentType == "application/json")
        #expect(request.idempotencyKey?.isEmpty == false)
        let json = request.json
        #expect((json["recipient"] as? [String: Any])?["id"] as? String == bob.userID)
        #expect((json["recipient"] as? [String: Any])?["username"] as? String == bob.username)
        #expect((json["sender"] as? [String: Any])?["id"] as? String == alice.userID)
        #expect((json["sender"] as? [String: Any])?["username"] as? String == alice.username)
        #expect(json["conversationId"] as? String == group)
        #expect(json["conversationTitle"] as? String == "trio")
        #expect(json["messageId"] as? String == messageID)
        #expect(json["preview"] as? String == "hello bob, are you there?")
        #expect(json["messageCount"] as? Int == 1)
        #expect(json["unreadCount"] as? Int == 1)
        #expect(json["attempt"] as? Int == 1)
    }

    @Test("several messages within the window become one push with the count and the newest message")
    func coalescing() async throws {
        let receiver = PushReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let server = try await Self.server(receiver, coalesce: .seconds(6))
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        var last = ""
        for text in ["one", "two", "three"] {
            last = try #require(try await chat.api.sendMessage(chat.alice, chat.conversation, text)["id"] as? String)
        }
        let rows = try await Self.waitForOutbox(server.database) { $0.first?.state == "delivered" }
        #expect(rows.count == 1)
        #expect(rows.first?.messageCount == 3)
        #expect(receiver.requests.count == 1)
        let json = try #require(receiver.accepted.first).json
        #expect(json["messageCount"] as? Int == 3)
        #expect(json["unreadCount"] as? Int == 3)
        #expect(json["messageId"] as? String == last)
        #expect(json["preview"] as? String == "three")
        #expect((json["recipient"] as? [String: Any])?["id"] as? String == chat.bob.userID)

        // After delivery, a new message starts a new push.
        try await chat.api.sendMessage(chat.alice, chat.conversation, "four")
        let after = try await Self.waitForOutbox(server.database) { $0.count == 2 && $0.allSatisfy { $0.state == "delivered" } }
        #expect(after.last?.messageCount == 1)
        #expect(receiver.requests.count == 2)
    }

    @Test("a recipient who reads the conversation, or comes online, before delivery: the pending push is dropped")
    func droppedWhenReadOrOnline() async throws {
        let receiver = PushReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        // A window long enough that even a loaded machine reads (and connects) before the push is due.
        let server = try await Self.server(receiver, coalesce: .seconds(8))
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        try await chat.api.sendMessage(chat.alice, chat.conversation, "read me")
        // Reading drops the pending push in the read's own statement: dropped the moment the read is answered.
        let read = try await chat.api.send(.POST, "/api/conversations/\(chat.conversation)/read_messages", token: chat.bob.token)
        #expect(read.status == 204)
        #expect(try await Self.outbox(server.database).map(\.state) == ["dropped"])

        try await chat.api.sendMessage(chat.alice, chat.conversation, "see me live")
        let stream = try await SSEClient.open(server.baseURL, token: chat.bob.token)
        defer { stream.close() }
        let both = try await Self.waitForOutbox(server.database) { $0.count == 2 && $0.last?.state != "pending" }
        #expect(both.map(\.state) == ["dropped", "dropped"])
        #expect(receiver.requests.isEmpty)
    }

    @Test("the receiver answers 500 twice then 200: delivered on the third attempt with the same idempotency key")
    func retriedAfterServerErrors() async throws {
        let receiver = PushReceiver(script: [500, 500])
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let server = try await Self.server(receiver)
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        try await chat.api.sendMessage(chat.alice, chat.conversation, "persist")
        let rows = try await Self.waitForOutbox(server.database) { $0.first?.state == "delivered" }
        #expect(rows.first?.attempts == 3)
        #expect(receiver.requests.map(\.answered) == [500, 500, 200])
        #expect(Set(receiver.requests.compactMap(\.idempotencyKey)).count == 1)
        let scrape = try await MetricsTests.scrape(server)
        let attempts = AppMetrics.Names.pushAttempts
        #expect(scrape.value(attempts, ["outcome": "retry"]) == 2)
        #expect(scrape.value(attempts, ["outcome": "delivered"]) == 1)
        #expect(scrape.has(attempts, ["outcome": "rejected"]), "every series exists from the start")
        #expect(receiver.requests.map { $0.json["attempt"] as? Int } == [1, 2, 3])
        #expect(receiver.requests.allSatisfy { PushReceiver.verify($0, secret: Self.secret) })
    }

    @Test("a message arriving while its conversation's push is being delivered, which then fails: one later push counts both")
    func failedDeliveryMergesIntoNewerPush() async throws {
        // The receiver holds its answer until the second message is stored: the order of events is the test's, not
        // a race between a delay and a loaded machine.
        let receiver = PushReceiver(script: [500], held: true)
        try await receiver.start()
        defer {
            receiver.release()
            Task { await receiver.stop() }
        }
        // No attempt may time out while the receiver holds it (a retry would be a second request).
        let server = try await Self.server(receiver, timeout: .seconds(120))
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        try await chat.api.sendMessage(chat.alice, chat.conversation, "one")
        // The first push is out (leased, the receiver is answering slowly): the next message gets a pending row of its own.
        _ = try await Self.waitForOutbox(server.database) { $0.first?.state == "sending" }
        let two = try #require(try await chat.api.sendMessage(chat.alice, chat.conversation, "two")["id"] as? String)
        #expect(try await Self.outbox(server.database).map(\.state) == ["sending", "pending"])
        receiver.release()
        let rows = try await Self.waitForOutbox(server.database) { $0.count == 2 && $0.last?.state == "delivered" }
        #expect(rows.map(\.state) == ["dropped", "delivered"])
        #expect(rows.last?.messageCount == 2)
        #expect(receiver.requests.map(\.answered) == [500, 200])
        let json = try #require(receiver.accepted.first).json
        #expect(json["messageCount"] as? Int == 2)
        #expect(json["messageId"] as? String == two)
    }

    @Test("a 4xx other than 429 is not retried (dead after one attempt); a 429 is")
    func clientErrorsNotRetried() async throws {
        let receiver = PushReceiver(script: [429, 410])
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let server = try await Self.server(receiver)
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        try await chat.api.sendMessage(chat.alice, chat.conversation, "gone")
        let rows = try await Self.waitForOutbox(server.database) { $0.first?.state == "dead" }
        #expect(rows.first?.attempts == 2)
        #expect(receiver.requests.map(\.answered) == [429, 410])
    }

    @Test("the receiver is down for a while, then up: the push is delivered, once")
    func receiverDownThenUp() async throws {
        // A port bound but not listening: connections are refused, and no other test's server can take the port
        // meanwhile (one that did would answer 404, a final failure, and the push would be dead).
        let down = try OccupiedPort(listening: false)
        let receiver = PushReceiver()
        let server = try await Self.server(url: "http://127.0.0.1:\(down.port)/hook")
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        try await chat.api.sendMessage(chat.alice, chat.conversation, "wait for me")
        // Several failed attempts (connection refused) while it is down.
        let failing = try await Self.waitForOutbox(server.database) { ($0.first?.attempts ?? 0) >= 3 }
        #expect(failing.first?.state != "delivered")
        down.release()
        try await receiver.start(port: down.port)
        defer { Task { await receiver.stop() } }
        let rows = try await Self.waitForOutbox(server.database) { $0.first?.state == "delivered" }
        #expect(rows.count == 1)
        #expect(receiver.requests.count == 1)
        #expect(PushReceiver.verify(try #require(receiver.requests.first), secret: Self.secret))
    }

    static func pushArguments(_ receiver: PushReceiver, coalesce: String) -> [String] {
        [
            "--push-webhook", receiver.url, "--push-secret", Self.secret, "--push-coalesce-seconds", coalesce,
            "--push-backoff-seconds", "0.1",
        ]
    }

    @Test("server kill -9 between the send's commit and delivery: delivered after a restart")
    func deliveredAfterCrash() async throws {
        let receiver = PushReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let database = try await TestCluster.shared.freshDatabase()
        let arguments = Self.pushArguments(receiver, coalesce: "5")
        let first = try await ServerProcess.start(database: database, extraArguments: arguments)
        let chat: Chat
        do {
            chat = try await Chat.start(on: first.baseURL)
            try await chat.api.sendMessage(chat.alice, chat.conversation, "survive the crash")
        } catch {
            first.kill()
            throw error
        }
        first.kill()
        // Committed with the message, not delivered.
        #expect(try await Self.outbox(database).map(\.state) == ["pending"])
        #expect(receiver.requests.isEmpty)

        let second = try await ServerProcess.start(database: database, extraArguments: arguments)
        defer { second.kill() }
        let rows = try await Self.waitForOutbox(database) { $0.first?.state == "delivered" }
        #expect(rows.count == 1)
        #expect(receiver.requests.count == 1)
        #expect(receiver.requests.first?.json["preview"] as? String == "survive the crash")
        #expect((receiver.requests.first?.json["recipient"] as? [String: Any])?["id"] as? String == chat.bob.userID)
    }

    @Test("two instances share the outbox: every push is delivered exactly once")
    func twoInstances() async throws {
        let receiver = PushReceiver(delay: .milliseconds(20))
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let database = try await TestCluster.shared.freshDatabase()
        let (a, b) = try await ServerProcess.startPair(database: database, extraArguments: Self.pushArguments(receiver, coalesce: "0"))
        defer {
            a.kill()
            b.kill()
        }
        let api = APIClient(baseURL: a.baseURL)
        let apiB = APIClient(baseURL: b.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        var members: [APIClient.Session] = []
        for _ in 0..<60 { members.append(try await api.devLogin(uniqueName("m"))) }
        let group = try await api.createGroup(alice, title: "crowd", usernames: members.map(\.username))
        // Sent through both instances: 60 recipients × 2 messages, due at once, claimed by both workers.
        try await api.sendMessage(alice, group, "to all, via A")
        try await apiB.sendMessage(alice, group, "to all, via B")
        let rows = try await Self.waitForOutbox(database, timeout: .seconds(60)) { rows in
            !rows.isEmpty && rows.allSatisfy { $0.state == "delivered" }
        }
        let keys = receiver.requests.compactMap(\.idempotencyKey)
        #expect(keys.count == rows.count)
        #expect(Set(keys).count == keys.count)
        // Coalescing window 0, but both messages may still fold into one pending row per member: count them all.
        #expect(rows.reduce(0) { $0 + $1.messageCount } == 60 + 60)
    }

    @Test("--push-webhook without a secret, with a URL that is not http(s), or with presence off: a one-line start-up failure")
    func startupChecks() async throws {
        let hook = "http://127.0.0.1:9/hook"
        try await StartupFailureTests.expectFailure(
            ["--port", "0", "--push-webhook", hook, "--push-secret", "short"],
            saying: ["signing secret of at least 16 bytes", "--push-secret"]
        )
        try await StartupFailureTests.expectFailure(
            ["--port", "0", "--push-webhook", "ftp://example.com/hook", "--push-secret", Self.secret],
            saying: ["is not an http(s) URL"]
        )
        try await StartupFailureTests.expectFailure(
            ["--port", "0", "--push-webhook", hook, "--push-secret", Self.secret, "--presence", "off"],
            saying: ["needs presence", "--presence off"]
        )
    }
}
