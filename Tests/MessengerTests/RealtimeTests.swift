import Foundation
import MessengerApp
import NIOCore
import NIOPosix
import PostgresLibPQ
import PostgresTestSupport
import Synchronization
import Testing

/// Tests that take `direct` run twice: with streams opened straight from the connection (``DirectStreamOpener``, the
/// default) and through the router (``StreamController``, the path of every request the opener declines).
@Suite("Realtime delivery over SSE (real sockets)")
struct RealtimeTests {
    @Test("participants and the sender's other stream get the message; outsiders get nothing; headers come first", arguments: [true, false])
    func delivery(direct: Bool) async throws {
        // The safety look is a minute away: messages and read positions must arrive through the wake-ups their
        // requests give the dispatcher.
        let server = try await TestServer.start {
            $0.directStreams = direct; $0.heartbeatInterval = .seconds(1); $0.safetyLookInterval = .seconds(60)
        }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let eve = try await api.devLogin(uniqueName("e"))
        let conversation = try await api.startConversation(alice, with: bob.username)

        let aliceTab1 = try await SSEClient.connect(server.baseURL, token: alice.token)
        let aliceTab2 = try await SSEClient.connect(server.baseURL, token: alice.token)
        let bobStream = try await SSEClient.connect(server.baseURL, token: bob.token)
        let eveStream = try await SSEClient.connect(server.baseURL, token: eve.token)
        defer { for client in [aliceTab1, aliceTab2, bobStream, eveStream] { client.close() } }
        #expect(bobStream.status == 200)
        #expect(bobStream.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true)
        #expect(bobStream.headers.first(name: "Cache-Control") == "no-cache")
        #expect(bobStream.headers.first(name: "X-Accel-Buffering") == "no")
        // A stream opened straight from its connection leaves no HTTP handler there: the connection ends with the
        // stream, and the client must know not to keep it for another request.
        if direct { #expect(bobStream.headers.first(name: "Connection") == "close") }
        // The opening comment arrives before any event.
        try await Self.waitFor { bobStream.all.first?.comment == "connected" }

        let sent = try await api.sendMessage(alice, conversation, "hello <b>bob</b>")
        let id = try #require(sent["id"] as? String)
        for client in [aliceTab1, aliceTab2, bobStream] {
            try await client.wait { events in events.contains { $0.json["id"] as? String == id } }
        }
        #expect(bobStream.events.first { $0.json["id"] as? String == id }?.json["mine"] as? Bool == false)
        #expect(aliceTab2.events.first { $0.json["id"] as? String == id }?.json["mine"] as? Bool == true)
        #expect(bobStream.events.first { $0.json["id"] as? String == id }?.json["content"] as? String == "hello <b>bob</b>")

        // Read positions reach the other side as a named event.
        #expect(try await api.send(.POST, "/api/conversations/\(conversation)/read_messages", token: bob.token).status == 204)
        try await aliceTab1.wait { $0.contains { $0.event == "read" && $0.json["userId"] as? String == bob.userID } }

        // Heartbeats flow.
        try await Self.waitFor(timeout: .seconds(5)) { bobStream.all.contains { $0.comment == "ping" } }
        // Eve saw no message and no read event.
        #expect(eveStream.events.isEmpty)
    }

    @Test("406 without Accept: text/event-stream; 401 without a token")
    func refusals() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let wrong = try await api.send(.GET, "/api/messages?token=\(alice.token)", headers: [("Accept", "application/json")])
        #expect(wrong.status == 406)
        #expect(wrong.error != nil)
        #expect(try await api.send(.GET, "/api/messages", headers: [("Accept", "text/event-stream")]).status == 401)
    }

    @Test("a group of 50 all receive a message, and learn about membership changes")
    func group() async throws {
        // The safety look is a minute away: membership changes must arrive through the wake-up their requests give.
        let server = try await TestServer.start { $0.safetyLookInterval = .seconds(60) }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let members = try await (0..<50).asyncMap { _ in try await api.devLogin(uniqueName("m")) }
        let streams = try await members.asyncMap { try await SSEClient.connect(server.baseURL, token: $0.token) }
        defer { for stream in streams { stream.close() } }
        let group = try await api.createGroup(members[0], title: "fifty", usernames: members.dropFirst().map(\.username))
        for stream in streams {
            try await stream.wait { $0.contains { $0.event == "conversation" && $0.json["conversationId"] as? String == group } }
        }
        let message = try await api.sendMessage(members[7], group, "to everyone")
        for stream in streams {
            try await stream.wait { $0.contains { $0.json["id"] as? String == message["id"] as? String } }
        }
    }

    @Test("resume with Last-Event-ID replays exactly what was missed", arguments: [true, false])
    func resume(direct: Bool) async throws {
        let server = try await TestServer.start { $0.directStreams = direct }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let first = try await SSEClient.connect(server.baseURL, token: bob.token)
        let m1 = try await api.sendMessage(alice, conversation, "one")
        try await first.wait { $0.contains { $0.json["id"] as? String == m1["id"] as? String } }
        let resumeFrom = try #require(first.lastEventID)
        first.close()
        let m2 = try await api.sendMessage(alice, conversation, "two")
        let m3 = try await api.sendMessage(alice, conversation, "three")
        let second = try await SSEClient.connect(server.baseURL, token: bob.token, lastEventID: resumeFrom)
        defer { second.close() }
        let m4 = try await api.sendMessage(alice, conversation, "four")
        let events = try await second.wait { $0.filter { $0.event == nil }.count >= 3 }
        try await Task.sleep(for: .milliseconds(300))
        let ids = second.events.filter { $0.event == nil }.compactMap { $0.json["id"] as? String }
        #expect(ids == [m2, m3, m4].map { $0["id"] as! String })
        _ = events
        // A garbage or ancient position gets a reset, not a silent gap.
        let stale = try await SSEClient.connect(server.baseURL, token: bob.token, lastEventID: "1-1-1")
        defer { stale.close() }
        try await stale.wait { $0.contains { $0.event == "reset" } }
    }

    @Test("property: concurrent writers on two instances and a subscriber reconnecting at random to either get every message exactly once, in order")
    func exactlyOnce() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let other = try await TestServer.start(database: server.database)
        defer { Task { await other.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let apiOther = APIClient(baseURL: other.baseURL)
        let bases = [server.baseURL, other.baseURL]
        let reader = try await api.devLogin(uniqueName("r"))
        let writers = try await (0..<4).asyncMap { _ in try await api.devLogin(uniqueName("w")) }
        let conversations = try await writers.asyncMap { try await api.startConversation($0, with: reader.username) }
        let perWriter = 40

        // The reader's subscriber: reconnects at random moments with the last id it saw, like a browser.
        let collector = Collector()
        // The first connection is made before anything is sent, so every message is owed to the reader.
        let firstStream = try await SSEClient.open(server.baseURL, token: reader.token)
        let subscriberTask = Task {
            var lastID: String?
            var next: SSEClient? = firstStream
            while !collector.isStopped {
                let stream: SSEClient
                if let first = next {
                    stream = first
                    next = nil
                } else {
                    stream = try await SSEClient.connect(bases.randomElement()!, token: reader.token, lastEventID: lastID)
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...150)))
                stream.close()
                try await stream.waitForEnd()
                collector.commit(stream.events)
                lastID = stream.lastEventID ?? lastID
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, writer) in writers.enumerated() {
                group.addTask {
                    for n in 0..<perWriter {
                        // Alternate instances: the two writers' transactions interleave in the shared order.
                        try await (n % 2 == 0 ? api : apiOther).sendMessage(writer, conversations[index], "w\(index)-\(n)")
                    }
                }
            }
            try await group.waitForAll()
        }
        // Let the last reconnect catch up.
        let deadline = ContinuousClock.now + .seconds(20)
        while collector.messageCount < writers.count * perWriter && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        collector.stop()
        try await subscriberTask.value
        let contents = collector.contents
        #expect(contents.count == writers.count * perWriter, "every message exactly once")
        #expect(Set(contents).count == contents.count, "no duplicates")
        for index in writers.indices {
            let mine = contents.filter { $0.hasPrefix("w\(index)-") }
            #expect(mine == (0..<perWriter).map { "w\(index)-\($0)" }, "per-conversation order")
        }
    }

    @Test("a subscriber that stops reading is cut off while others keep receiving")
    func slowSubscriber() async throws {
        let server = try await TestServer.start { $0.streamBufferSize = 256 }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        // A raw socket that sends the request and never reads.
        let stuck = try await StuckReader.connect(port: server.port, path: "/api/messages?token=\(chat.bob.token)")
        let healthy = try await SSEClient.connect(server.baseURL, token: chat.bob.token)
        defer { healthy.close() }
        try await chat.expectSlowConsumerCutOff(stuck: stuck) { lastID in
            try await healthy.wait(timeout: .seconds(20)) { $0.contains { $0.json["id"] as? String == lastID } }
        }
    }

    @Test("beyond the per-user limit the oldest stream is told `closed` and ends; the others stay", arguments: [true, false])
    func streamLimit(direct: Bool) async throws {
        let server = try await TestServer.start { $0.directStreams = direct }
        defer { Task { await server.stop() } }
        #expect(server.configuration.maxStreamsPerUser == 10)
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        var streams: [SSEClient] = []
        for _ in 0..<11 {
            let stream = try await SSEClient.connect(server.baseURL, token: alice.token)
            try await Self.waitFor { stream.lastEventID != nil }
            streams.append(stream)
        }
        defer { for client in streams { client.close() } }
        try await streams[0].waitForEnd(timeout: .seconds(5))
        let closed = try #require(streams[0].events.first { $0.event == "closed" })
        #expect(closed.json["reason"] as? String == "too_many_streams")
        #expect(closed.id == nil, "a closed event does not move the resume point")
        #expect(streams.dropFirst().allSatisfy { !$0.isEnded })
        #expect(server.realtime.openStreams == 10)
    }

    @Test("requests whose connection goes away before or while the stream starts leave no subscriber behind")
    func noLeftoverSubscribers() async throws {
        let server = try await TestServer.start { $0.heartbeatInterval = .seconds(3600) }
        defer { Task { await server.stop() } }
        // Alice has a contact (a presence snapshot to send) and a position to resume from (a replay to run): a stream
        // whose client leaves while it is being opened has the most left to do then.
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice) = (chat.api, chat.alice)
        let first = try await SSEClient.connect(server.baseURL, token: alice.token)
        try await Self.waitFor { first.lastEventID != nil }
        let position = try #require(first.lastEventID)
        first.close()
        try await api.sendMessage(chat.bob, chat.conversation, "missed")
        // Raw sockets: the request goes out and the connection closes at once, before the response can start (or
        // while it does), over and over; every other one resumes, and half of them reset rather than close.
        for n in 0..<60 {
            let resume = n % 2 == 0 ? "Last-Event-ID: \(position)\r\n" : ""
            let socket = try await StuckReader.connect(
                port: server.port, path: "/api/messages?token=\(alice.token)", headers: "Accept: text/event-stream\r\n" + resume)
            if n % 4 < 2 { socket.reset() } else { socket.close() }
        }
        // And some that read the headers first.
        let streams = try await (0..<5).asyncMap { _ in try await SSEClient.connect(server.baseURL, token: alice.token) }
        for stream in streams { stream.close() }
        do {
            try await Self.waitFor(timeout: .seconds(10)) { server.realtime.openStreams == 0 }
        } catch {
            Issue.record("still registered: \(server.realtime.openStreams)")
            throw error
        }
        // Still serving.
        let fresh = try await SSEClient.connect(server.baseURL, token: alice.token)
        defer { fresh.close() }
        do {
            try await Self.waitFor { fresh.lastEventID != nil && server.realtime.openStreams == 1 }
        } catch {
            Issue.record("fresh stream id: \(fresh.lastEventID ?? "none"), registered: \(server.realtime.openStreams)")
            throw error
        }
    }

    @Test("a session ended behind the server's back (no logout call, no NOTIFY) closes its streams by the next heartbeat")
    func sessionRecheck() async throws {
        let server = try await TestServer.start { $0.heartbeatInterval = .seconds(1) }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let aliceStream = try await SSEClient.connect(server.baseURL, token: alice.token)
        let bobStream = try await SSEClient.connect(server.baseURL, token: bob.token)
        defer { for client in [aliceStream, bobStream] { client.close() } }
        try await Self.waitFor { aliceStream.lastEventID != nil && bobStream.lastEventID != nil }
        let admin = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await admin.shutdown() } }
        try await admin.query("UPDATE sessions SET revoked_at = now() WHERE user_id = \(Int64(alice.userID)!)")
        try await aliceStream.waitForEnd(timeout: .seconds(10))
        #expect(!bobStream.isEnded)
        #expect(try await api.send(.GET, "/api/auth_user", token: alice.token).status == 401)
    }

    @Test("a client that disconnects is dropped at once, not at the next heartbeat")
    func disconnectNoticed() async throws {
        let server = try await TestServer.start { $0.heartbeatInterval = .seconds(3600) }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        // Raw sockets, so "the client went away" is exactly one close(2) (an HTTP client library's cancellation may
        // keep or pool its connection), and the heartbeat never comes: only noticing the close can pass.
        let path = "/api/messages?token=\(alice.token)"
        let sockets = try await (0..<5).asyncMap { _ in try await StuckReader.connect(port: server.port, path: path) }
        for socket in sockets { _ = try await socket.receive(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\nid: ") } }
        #expect(server.realtime.openStreams == 5)
        for socket in sockets { socket.close() }
        // Milliseconds when noticed; the heartbeat, the only other way they could end, is an hour away, so 10 s still
        // tells the two apart on a machine running the whole suite at once (3 s was once missed there, with the
        // set-up above alone taking 11 s).
        try await Self.waitFor(timeout: .seconds(10)) { server.realtime.openStreams == 0 }
    }

    @Test("frames written straight to the connection are framed as the response head says (HTTP/1.1 and 1.0 clients)", arguments: [true, false])
    func directFraming(direct: Bool) async throws {
        let server = try await TestServer.start {
            $0.directStreams = direct; $0.heartbeatInterval = .seconds(3600)
        }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let path = "/api/messages?token=\(chat.bob.token)"
        let sockets = [
            try await StuckReader.connect(port: server.port, path: path),
            try await StuckReader.connect(port: server.port, path: path, version: "HTTP/1.0"),
        ]
        defer { for socket in sockets { socket.close() } }
        // Both are live (their opening position came) before the messages go out, so the events are written directly.
        var received: [[UInt8]] = []
        for socket in sockets {
            received.append(try #require(try await socket.receive(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\nid: ") }))
        }
        var ids: [String] = []
        for n in 0..<3 { ids.append(try #require(try await chat.api.sendMessage(chat.alice, chat.conversation, "direct \(n)")["id"] as? String)) }
        let last = "\"id\":\"\(ids[2])\""
        for (index, socket) in sockets.enumerated() {
            let opening = received[index]
            received[index] += try #require(try await socket.receive(timeout: .seconds(10)) { Self.body(of: opening + $0)?.contains(last) == true })
            let body = try #require(Self.body(of: received[index]), "valid framing")
            let blocks = body.components(separatedBy: "\n\n").filter { $0.contains("direct ") }
            #expect(blocks.count == 3, "\(body)")
            for (block, id) in zip(blocks, ids) {
                #expect(block.hasPrefix("id: "))
                #expect(block.contains("\"id\":\"\(id)\""))
            }
        }
    }

    /// The body of an HTTP response as far as it has arrived (chunked or not, as its head says); nil when the head is
    /// incomplete or the bytes are not valid chunked framing ending on a chunk boundary.
    static func body(of raw: [UInt8]) -> String? {
        let text = String(decoding: raw, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { return nil }
        guard text[..<headEnd.lowerBound].lowercased().contains("\r\ntransfer-encoding: chunked") else {
            return String(text[headEnd.upperBound...])
        }
        return Self.dechunk(Substring(text[headEnd.upperBound...]))
    }

    /// Decodes chunked framing; nil unless it is valid and ends on a chunk boundary.
    static func dechunk(_ chunked: Substring) -> String? {
        var rest = chunked.utf8
        var body: [UInt8] = []
        while !rest.isEmpty {
            guard let lineEnd = rest.firstRange(of: "\r\n".utf8),
                let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16)
            else { return nil }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else { return nil }
            let end = rest.index(start, offsetBy: size)
            body += rest[start..<end]
            guard rest[end...].starts(with: "\r\n".utf8) else { return nil }
            rest = rest[rest.index(end, offsetBy: 2)...]
        }
        return String(decoding: body, as: UTF8.self)
    }

    @Test(
        "a plain stream request is opened straight from the connection; HTTP/1.0, an unusual head or the router-only setting go through the router, with the same result"
    )
    func directOrRouter() async throws {
        for direct in [true, false] {
            let server = try await TestServer.start {
                $0.directStreams = direct
                $0.metricsPort = 0
                $0.heartbeatInterval = .seconds(3600)
            }
            defer { Task { await server.stop() } }
            let chat = try await Chat.start(on: server.baseURL)
            let path = "/api/messages?token=\(chat.bob.token)"
            let plain = try await SSEClient.connect(server.baseURL, token: chat.bob.token)
            defer { plain.close() }
            let sockets = [
                try await StuckReader.connect(port: server.port, path: path, version: "HTTP/1.0"),
                // A repeated field it reads could be read two ways: the direct path leaves it to the full HTTP stack.
                try await StuckReader.connect(port: server.port, path: path, headers: "Accept: text/event-stream\r\nAccept: text/event-stream\r\n"),
            ]
            defer { for socket in sockets { socket.close() } }
            for socket in sockets {
                _ = try #require(try await socket.receive(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\nid: ") })
            }
            try await Self.waitFor { plain.lastEventID != nil }
            let id = try #require(try await chat.api.sendMessage(chat.alice, chat.conversation, "either way")["id"] as? String)
            try await plain.wait(timeout: .seconds(10)) { $0.contains { $0.json["id"] as? String == id } }
            let scrape = try await MetricsTests.scrape(server)
            let opened = AppMetrics.Names.streamsOpened
            #expect(scrape.value(opened, ["path": "direct"]) == (direct ? 1 : 0), "direct: \(direct)")
            #expect(scrape.value(opened, ["path": "router"]) == (direct ? 2 : 3), "direct: \(direct)")
        }
    }

    @Test("logout closes the session's streams")
    func logoutClosesStream() async throws {
        // No heartbeat within the test: its session re-check is the only other way the stream could end.
        let server = try await TestServer.start { $0.heartbeatInterval = .seconds(3600) }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let stream = try await SSEClient.connect(server.baseURL, token: alice.token)
        try await Self.waitFor { stream.all.first?.comment == "connected" }
        #expect(try await api.send(.POST, "/api/logout", token: alice.token).status == 204)
        // At once (the stream is closed by the logout itself). With the heartbeat's re-check an hour away, 10 s tells
        // the two apart however loaded the machine is; with the default 15 s heartbeat a broken close would still
        // have ended the stream within 10 s two times in three (the heartbeat's phase is arbitrary).
        try await stream.waitForEnd(timeout: .seconds(10))
    }

    @Test("graceful shutdown with open streams finishes promptly", arguments: [true, false])
    func shutdown(direct: Bool) async throws {
        let server = try await TestServer.start { $0.directStreams = direct }
        let api = APIClient(baseURL: server.baseURL)
        let users = try await (0..<5).asyncMap { _ in try await api.devLogin(uniqueName("s")) }
        let streams = try await users.asyncMap { try await SSEClient.connect(server.baseURL, token: $0.token) }
        let start = ContinuousClock.now
        await server.stop()
        // Broken, shutdown waits for the streams (forever) or for their next heartbeat (15 s); working, it takes well
        // under a second alone, but once took 5.0 s with forty suites running at once on CI's two cores.
        #expect(ContinuousClock.now - start < .seconds(10))
        for stream in streams { try await stream.waitForEnd(timeout: .seconds(5)) }
    }

    @Test("graceful shutdown also closes connections that sent nothing yet, or half a stream request")
    func shutdownWithSilentConnections() async throws {
        let server = try await TestServer.start()
        let silent = try await StuckReader.connect(port: server.port, sending: "")
        defer { silent.close() }
        let half = try await StuckReader.connect(port: server.port, sending: "GET /api/messages?token=x HTTP/1.1\r\nAccept: text/")
        defer { half.close() }
        let start = ContinuousClock.now
        // Watched with a deadline, not awaited: a shutdown that waits for these clients would otherwise hang the test.
        let done = Mutex(false)
        Task {
            await server.stop()
            done.withLock { $0 = true }
        }
        var stopped = false
        while !stopped, ContinuousClock.now - start < .seconds(10) {
            try await Task.sleep(for: .milliseconds(20))
            stopped = done.withLock { $0 }
        }
        #expect(stopped, "shutdown waited for connections that never asked for anything")
        #expect(try await silent.drainReachesEOF(timeout: .seconds(5)))
        #expect(try await half.drainReachesEOF(timeout: .seconds(5)))
    }

    @Test(
        "two instances: messages cross through NOTIFY (the safety look is off), also after the listeners are killed; a logout on A closes B's stream and ends the session there at once"
    )
    func twoInstances() async throws {
        // The safety look is a minute: anything that arrives in time came through NOTIFY or a listener reconnect.
        let a = try await TestServer.start { $0.safetyLookInterval = .seconds(60) }
        defer { Task { await a.stop() } }
        // B's heartbeat (and with it the session re-check) and its session cache are an hour away: only the NOTIFY can
        // end Carol's stream and her session there.
        let b = try await TestServer.start(database: a.database) {
            $0.safetyLookInterval = .seconds(60); $0.heartbeatInterval = .seconds(3600); $0.sessionCacheTTL = .seconds(3600)
        }
        defer { Task { await b.stop() } }
        let chat = try await Chat.start(on: a.baseURL)
        let (apiA, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let onB = try await SSEClient.open(b.baseURL, token: bob.token)
        defer { onB.close() }

        var latencies: [Duration] = []
        for n in 0..<7 {
            let start = ContinuousClock.now
            let sent = try await apiA.sendMessage(alice, conversation, "across instances \(n)")
            latencies.append(try await onB.arrival(ofMessage: sent["id"] as! String, timeout: .seconds(5)) - start)
        }
        latencies.sort()
        // Through NOTIFY this is a few milliseconds; without it, the next look would come with the safety look, a
        // minute away. The bounds leave room for a CI machine whose two cores run the whole suite at once (a median of
        // 535 ms was seen there) and still fail by far without NOTIFY.
        #expect(latencies[latencies.count / 2] < .seconds(2), "A → B latency: \(latencies)")
        #expect(latencies.last! < .seconds(5), "A → B latency: \(latencies)")

        // A logout handled by A ends Carol's stream on B through NOTIFY, well before any heartbeat or cache expiry.
        let carol = try await apiA.devLogin(uniqueName("c"))
        let carolOnB = try await SSEClient.open(b.baseURL, token: carol.token)
        defer { carolOnB.close() }
        #expect(try await apiA.send(.POST, "/api/logout", token: carol.token).status == 204)
        // A answers once its NOTIFY went out: from here only the notification's trip and B's reaction remain.
        let answered = ContinuousClock.now
        try await carolOnB.waitForEnd(timeout: .seconds(10))
        // Milliseconds through NOTIFY; B's heartbeat re-check is an hour away, so 10 s tells them apart and leaves
        // room for a machine whose two cores run a hundred tests at once (1.8 s was seen there, and more than 5 s once
        // on 2026-11-26, when B's heartbeat was still 15 s: that run could not tell which path closed the stream).
        #expect(ContinuousClock.now - answered < .seconds(10))
        // The same notification dropped the session from B's cache (before it closed the stream): B refuses the token
        // now, not when its cached check would have expired.
        let refused = try await APIClient(baseURL: b.baseURL).send(.GET, "/api/conversations", token: carol.token)
        #expect(refused.status == 401)

        // Kill every LISTEN connection (both instances'), send meanwhile, and check nothing is lost: the listeners
        // reconnect and look at the tables.
        let admin = PostgresConnectionPool(configuration: a.database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await admin.shutdown() } }
        // Only this test's database: the test cluster is shared with tests running in parallel.
        try await admin.query(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = \(RealtimeService.listenerApplicationName) AND datname = current_database()
            """
        )
        var ids: [String] = []
        for n in 0..<10 { ids.append(try await apiA.sendMessage(alice, conversation, "during \(n)")["id"] as! String) }
        try await onB.wait(timeout: .seconds(10)) { events in ids.allSatisfy { id in events.contains { $0.json["id"] as? String == id } } }
        #expect(onB.events.filter { $0.event == nil }.count == 17)
    }

    static func waitFor(timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now > deadline { throw TestFailure("condition not met in time") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Collects message contents across reconnects.
final class Collector: Sendable {
    private let state = Mutex<(contents: [String], stopped: Bool)>(([], false))

    func commit(_ events: [SSEEvent]) {
        let contents = events.filter { $0.event == nil }.compactMap { $0.json["content"] as? String }
        self.state.withLock { $0.contents += contents }
    }

    func stop() { self.state.withLock { $0.stopped = true } }
    var isStopped: Bool { self.state.withLock { $0.stopped } }
    var contents: [String] { self.state.withLock { $0.contents } }
    var messageCount: Int { self.contents.count }
}
