import Foundation
import MessengerApp
import PostgresLibPQ
import PostgresTestSupport
import Testing

/// `/metrics` on its own loopback listener: real traffic through the public port, then a real scrape, and every
/// counter must have moved by exactly what the traffic caused.
@Suite struct MetricsTests {
    typealias Names = AppMetrics.Names

    static func scrape(_ server: TestServer) async throws -> PrometheusScrape {
        let reply = try await APIClient(baseURL: "http://127.0.0.1:\(server.metricsPort!)").send(.GET, "/metrics")
        #expect(reply.status == 200)
        #expect(reply.headers.first(name: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return PrometheusScrape(String(decoding: reply.body, as: UTF8.self))
    }

    /// Waits until a scrape satisfies `condition` (for effects that happen after the request that caused them).
    static func scrape(
        _ server: TestServer, waitingFor what: String, until condition: (PrometheusScrape) -> Bool
    ) async throws -> PrometheusScrape {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let scrape = try await Self.scrape(server)
            if condition(scrape) { return scrape }
            if ContinuousClock.now > deadline { throw TestFailure("metrics never showed \(what):\n\(scrape.text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The replayable events a stream received (presence and typing are state, not history).
    static func history(_ stream: SSEClient) -> [SSEEvent] {
        stream.events.filter { !($0.event ?? "").hasPrefix("presence") && $0.event != "typing" }
    }

    @Test func countersMoveByWhatTheTrafficCaused() async throws {
        let server = try await TestServer.start {
            $0.metricsPort = 0
            $0.maxStreamsPerUser = 2
            $0.loginAttemptsPerMinute = 3
            // A session checked once stays known for the whole test, however slowly a busy machine runs it (which
            // path a stream takes depends on it).
            $0.sessionCacheTTL = .seconds(3600)
            // The heartbeat's session re-check (it closes with the same reason) must not be what ends Bob's streams.
            $0.heartbeatInterval = .seconds(3600)
        }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        // Not on the public port: there `/metrics` is just an unknown path.
        let publicReply = try await api.send(.GET, "/metrics")
        #expect(publicReply.status == 404)
        #expect(!String(decoding: publicReply.body, as: UTF8.self).contains(Names.httpRequests))
        let before = try await Self.scrape(server)
        // Every series an alert may be written on exists before its first event.
        #expect(before.has(Names.streamsClosed, ["reason": "too_slow"]))
        #expect(before.has(Names.loginFailures, ["reason": "bad_credentials"]))
        #expect(before.has(Names.listenerReconnects))
        #expect(before.has(Names.sendStatements, ["kind": "retry"]) && before.has(Names.sendsBatched))

        let alice = try await api.devLogin(uniqueName("alice"))
        let bob = try await api.devLogin(uniqueName("bob"))
        let aliceStream = try await SSEClient.connect(server.baseURL, token: alice.token)
        defer { aliceStream.close() }
        let bobStream = try await SSEClient.connect(server.baseURL, token: bob.token)
        defer { bobStream.close() }
        try await RealtimeTests.waitFor { aliceStream.lastEventID != nil && bobStream.lastEventID != nil }

        // One conversation and three messages: four events, each delivered live to both streams.
        let conversation = try await api.startConversation(alice, with: bob.username)
        var messageIDs: [String] = []
        for n in 1...3 { messageIDs.append(try await api.sendMessage(alice, conversation, "hello \(n)")["id"] as! String) }
        for stream in [aliceStream, bobStream] {
            try await stream.wait { events in messageIDs.allSatisfy { id in events.contains { $0.json["id"] as? String == id } } }
        }
        // Presence (state, not history) may come and go meanwhile: count the replayable events.
        #expect(Self.history(aliceStream).count == 4 && Self.history(bobStream).count == 4)
        #expect(try await api.send(.GET, "/api/conversations/999999", token: alice.token).status == 404)

        var after = try await Self.scrape(server)
        let sends = ["route": "/api/conversations/{id}/messages", "method": "POST"]
        #expect(after.value(Names.httpRequests, sends.merging(["status": "201"]) { $1 }) == 3)
        #expect(after.value(Names.httpDuration + "_count", sends) == 3)
        #expect(after.value(Names.httpDuration + "_bucket", sends.merging(["le": "+Inf"]) { $1 }) == 3)
        // One after the other, each send is a statement of its own.
        #expect(after.value(Names.sendStatements, ["kind": "alone"]) == 3)
        #expect(after.value(Names.sendStatements, ["kind": "batch"]) == 0 && after.value(Names.sendsBatched) == 0)
        #expect(after.value(Names.httpRequests, ["route": "/api/conversations/{id}", "method": "GET", "status": "404"]) == 1)
        #expect(after.value(Names.httpRequests, ["route": "/**", "method": "GET", "status": "404"]) == 1)
        #expect(after.value(Names.httpRequests, ["route": "/api/login", "method": "POST", "status": "200"]) == 2)
        // The same series again (its handles are kept after the first request), and a method outside HTTP's own set
        // counted as OTHER, never under its own name.
        #expect(try await api.send(.GET, "/api/conversations/999999", token: alice.token).status == 404)
        let propfind = try await RawHTTP.send(RawHTTP.request("PROPFIND", "/api/conversations"), port: server.port)
        #expect(propfind.status >= 400 && propfind.status < 500)
        after = try await Self.scrape(server)
        #expect(after.value(Names.httpRequests, ["route": "/api/conversations/{id}", "method": "GET", "status": "404"]) == 2)
        #expect(after.value(Names.httpDuration + "_count", ["route": "/api/conversations/{id}", "method": "GET"]) == 2)
        let otherSeries = after.samples.filter { $0.key.hasPrefix(Names.httpRequests + "{") && $0.key.contains("method=\"OTHER\"") }
        #expect(otherSeries.values.reduce(0, +) == 1)
        #expect(!after.text.contains("PROPFIND"))
        #expect(after.value(Names.streamsOpen) == 2)
        // Alice's stream was the first (the registry's position had to be read): a short task opened it. Bob's, with a
        // token this process issued and a registry already live, opened in the turn its request arrived in.
        #expect(after.value(Names.streamsOpened, ["path": "direct"]) == 1)
        #expect(after.value(Names.streamsOpened, ["path": "immediate"]) == 1)
        #expect(after.value(Names.eventsDelivered, ["path": "live"]) - before.value(Names.eventsDelivered, ["path": "live"]) == 8)
        // The lag is recorded once per event read, whatever the number of streams it goes to.
        #expect(after.value(Names.deliveryLag + "_count") == 4)
        #expect(after.value(Names.deliveryLag + "_bucket", ["le": "+Inf"]) == 4)
        // Every API request above took a pooled connection and none had to wait; at rest only the background loops
        // (dispatcher, heartbeat) may hold one.
        #expect(after.value(Names.poolAcquire + "_count") >= 10)
        #expect(after.value(Names.poolWaiters) == 0)
        #expect(after.value(Names.poolConnections, ["state": "in_use"]) <= 2)
        #expect(after.value(Names.poolConnections, ["state": "in_use"]) + after.value(Names.poolConnections, ["state": "idle"]) >= 1)

        // Resume from the first message: the two after it are replayed. A made-up position gets a reset.
        let firstMessageEventID = aliceStream.events.first { $0.json["id"] as? String == messageIDs[0] }!.id!
        let resumed = try await SSEClient.connect(server.baseURL, token: alice.token, lastEventID: firstMessageEventID)
        defer { resumed.close() }
        // (Replayed events only: presence state is not history.)
        try await resumed.wait { _ in Self.history(resumed).count == 2 }
        let reset = try await SSEClient.connect(server.baseURL, token: bob.token, lastEventID: "1-2-3-forged")
        defer { reset.close() }
        try await reset.wait { $0.contains { $0.event == "reset" } }
        after = try await Self.scrape(server)
        #expect(after.value(Names.resumes, ["outcome": "replay"]) == 1)
        #expect(after.value(Names.resumes, ["outcome": "reset"]) == 1)
        #expect(after.value(Names.eventsDelivered, ["path": "replay"]) == 2)
        #expect(after.value(Names.streamsOpen) == 4)
        // A resume replays from the database, so it opens in a task, as does a reset (it reads how far behind it is).
        #expect(after.value(Names.streamsOpened, ["path": "direct"]) == 3)
        #expect(after.value(Names.streamsOpened, ["path": "immediate"]) == 1)

        // Alice's third stream evicts her oldest (limit 2): one `too_many_streams` close.
        let third = try await SSEClient.connect(server.baseURL, token: alice.token)
        defer { third.close() }
        try await aliceStream.waitForEnd()
        try await RealtimeTests.waitFor { third.lastEventID != nil }
        after = try await Self.scrape(server, waitingFor: "one eviction") { $0.value(Names.streamsClosed, ["reason": "too_many_streams"]) == 1 }
        #expect(after.value(Names.streamsOpen) == 4)
        #expect(after.value(Names.streamsOpened, ["path": "immediate"]) == 2)

        // Login failures and rate-limit refusals (3 attempts per username and address per minute).
        let carol = uniqueName("carol")
        #expect(try await api.send(.POST, "/api/register", json: ["username": carol, "password": "password-1"]).status == 201)
        #expect(try await api.send(.POST, "/api/login", json: ["username": carol, "password": "wrong-password"]).status == 401)
        #expect(try await api.send(.POST, "/api/register", json: ["username": carol, "password": "password-2"]).status == 409)
        #expect(try await api.send(.POST, "/api/login", json: ["username": carol, "password": "password-1"]).status == 429)
        after = try await Self.scrape(server)
        #expect(after.value(Names.loginFailures, ["reason": "bad_credentials"]) == 1)
        #expect(after.value(Names.loginFailures, ["reason": "username_taken"]) == 1)
        #expect(after.value(Names.loginRateLimited) == 1)

        // A logout is announced to other instances with one NOTIFY on the sessions channel, and ends Bob's streams.
        let notifiesBefore = after.value(Names.notifies, ["channel": RealtimeService.sessionsChannel])
        #expect(try await api.send(.POST, "/api/logout", token: bob.token).status == 204)
        try await bobStream.waitForEnd()
        after = try await Self.scrape(server, waitingFor: "two logged-out streams") { $0.value(Names.streamsClosed, ["reason": "logged_out"]) == 2 }
        #expect(after.value(Names.notifies, ["channel": RealtimeService.sessionsChannel]) - notifiesBefore == 1)

        // The listener's connection is killed: it reconnects once.
        let admin = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await admin.shutdown() } }
        let pid = server.realtime.listenerBackendPID
        #expect(pid != 0)
        try await admin.query("SELECT pg_terminate_backend(\(pid))")
        after = try await Self.scrape(server, waitingFor: "a listener reconnect") { $0.value(Names.listenerReconnects) == 1 }
        #expect(after.value(Names.listenerReconnects) == 1)
    }
}
