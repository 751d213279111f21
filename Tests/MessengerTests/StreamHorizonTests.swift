import Foundation
import MessengerApp
import PostgresLibPQ
import PostgresTestSupport
import Testing

/// The stream's safe prefix depends only on this application's own writers (schema/0005_stream_horizon.sql).
///
/// Every server here looks at the tables only when woken (the safety look is set to a minute), so a delivery that
/// arrives at all arrives through the mechanism under test.
@Suite("Stream horizon: nothing outside the app holds delivery back")
struct StreamHorizonTests {
    @Test("an idle foreign transaction, in this database and in another one, holds back neither live delivery nor resume")
    func foreignTransaction() async throws {
        let server = try await TestServer.start { $0.safetyLookInterval = .seconds(60) }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let stream = try await SSEClient.open(server.baseURL, token: bob.token)
        defer { stream.close() }

        var sameDatabase = server.database
        sameDatabase.parameters.append(("application_name", "foreign-app"))
        var otherDatabase = try await TestCluster.shared.freshDatabase()
        otherDatabase.parameters.append(("application_name", "foreign-app"))
        let foreignHere = PostgresConnectionPool(configuration: sameDatabase, maximumConnections: 1, logger: TestCluster.logger)
        let foreignThere = PostgresConnectionPool(configuration: otherDatabase, maximumConnections: 1, logger: TestCluster.logger)
        defer {
            Task {
                await foreignHere.shutdown()
                await foreignThere.shutdown()
            }
        }
        // Both transactions hold an xid and stay open (idle in transaction) while messages flow.
        try await foreignHere.withTransaction { transaction in
            try await transaction.query("CREATE TABLE foreign_app (x int)")
            try await transaction.query("INSERT INTO foreign_app VALUES (1)")
            try await foreignThere.withTransaction { other in
                try await other.query("CREATE TABLE foreign_batch (x int)")
                try await other.query("INSERT INTO foreign_batch VALUES (1)")

                var latencies: [Duration] = []
                for n in 0..<10 {
                    let start = ContinuousClock.now
                    let sent = try await api.sendMessage(alice, conversation, "live \(n)")
                    latencies.append(try await stream.arrival(ofMessage: sent["id"] as! String, timeout: .seconds(5)) - start)
                }
                // Held back by them, delivery would wait for the safety look, a minute away (arrival's 5 s timeout
                // fails first). The bounds leave room for the whole suite running at once on two busy cores, where
                // single sends took 0.2–1.0 s (2026-11-26), like the two-instance test's.
                latencies.sort()
                #expect(latencies[latencies.count / 2] < .seconds(2), "live delivery with foreign transactions open: \(latencies)")
                #expect(latencies.last! < .seconds(5), "live delivery with foreign transactions open: \(latencies)")

                // Resume while they are still open.
                let resumeFrom = try #require(stream.lastEventID)
                stream.close()
                var missed: [String] = []
                for n in 0..<3 { missed.append(try await api.sendMessage(alice, conversation, "missed \(n)")["id"] as! String) }
                let resumed = try await SSEClient.connect(server.baseURL, token: bob.token, lastEventID: resumeFrom)
                defer { resumed.close() }
                let events = try await resumed.wait(timeout: .seconds(5)) { $0.filter { $0.event == nil }.count >= 3 }
                #expect(events.filter { $0.event == nil }.compactMap { $0.json["id"] as? String } == missed)
            }
        }
    }

    @Test("a transaction of our own holds delivery back (that is what keeps the order exact), and is logged after 1 s")
    func ownTransactionHolds() async throws {
        let server = try await TestServer.start { $0.safetyLookInterval = .seconds(60) }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let stream = try await SSEClient.open(server.baseURL, token: bob.token)
        defer { stream.close() }

        // Connections named like the server's own pool count as ours.
        var ours = server.database
        ours.parameters.append(("application_name", PostgresStreamRepository.writerApplicationName))
        let writer = PostgresConnectionPool(configuration: ours, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await writer.shutdown() } }
        let sentID = try await writer.withTransaction { transaction -> String in
            // An event row written by a transaction of ours that has not committed yet.
            try await transaction.query(
                "INSERT INTO stream_events (conversation_id, kind, user_id) VALUES (\(Int64(conversation)!), 'read', \(Int64(alice.userID)!))"
            )
            // A message committed after it must wait for it: delivering it now could let the earlier row commit
            // behind a client's cursor.
            let sent = try await api.sendMessage(alice, conversation, "after an open transaction of ours")
            try await Task.sleep(for: .milliseconds(300))
            #expect(!stream.events.contains { $0.json["id"] as? String == sent["id"] as? String })
            try await RealtimeTests.waitFor(timeout: .seconds(5)) {
                server.logs.all.contains { $0.contains("stream delivery held back by a transaction of this application") }
            }
            return sent["id"] as! String
        }
        // The commit does not wake the dispatcher; its backed-off watchdog finds it.
        do {
            // The watchdog backs off to 200 ms; without it the next look would be the safety look, a minute away.
            _ = try await stream.arrival(ofMessage: sentID, timeout: .seconds(5))
        } catch {
            Issue.record("not delivered after the commit; events \(stream.events); log \(server.logs.all.suffix(20))")
            throw error
        }
        let events = stream.events
        let readIndex = try #require(events.firstIndex { $0.event == "read" })
        let messageIndex = try #require(events.firstIndex { $0.json["id"] as? String == sentID })
        #expect(readIndex < messageIndex, "committed order")
    }

    @Test("a row that cannot be decoded is skipped and logged; delivery goes on; the kind column is constrained")
    func undecodableRow() async throws {
        let server = try await TestServer.start { $0.safetyLookInterval = .seconds(60) }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let stream = try await SSEClient.open(server.baseURL, token: bob.token)
        defer { stream.close() }
        let admin = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await admin.shutdown() } }
        let insertBogus: PostgresQuery =
            "INSERT INTO stream_events (conversation_id, kind, user_id) VALUES (\(Int64(conversation)!), 'bogus', \(Int64(alice.userID)!))"
        await #expect(throws: PostgresError.self) { try await admin.query(insertBogus) }
        // A future version (or a hand edit) wrote a kind this one does not know.
        try await admin.query("ALTER TABLE stream_events DROP CONSTRAINT stream_events_kind")
        try await admin.query(insertBogus)
        let sent = try await api.sendMessage(alice, conversation, "after the bad row")
        _ = try await stream.arrival(ofMessage: sent["id"] as! String, timeout: .seconds(5))
        #expect(server.logs.all.contains { $0.contains("skipping a stream event that cannot be decoded") })
    }

    @Test("Last-Event-ID: edited, forged, from another database or beyond the head gets a reset; a real one resumes")
    func lastEventIDIsVerified() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let stream = try await SSEClient.connect(server.baseURL, token: bob.token)
        let first = try await api.sendMessage(alice, conversation, "one")
        _ = try await stream.arrival(ofMessage: first["id"] as! String)
        let real = try #require(stream.lastEventID)
        stream.close()
        let parts = real.split(separator: "-").map(String.init)
        try #require(parts.count == 4)

        let admin = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await admin.shutdown() } }
        let token = try await admin.query("SELECT token FROM stream_identity").first!.decode(String.self, at: 0)
        let codec = StreamPositionCodec(serverKey: server.configuration.jwtKey, databaseToken: token)
        let otherDatabase = StreamPositionCodec(serverKey: server.configuration.jwtKey, databaseToken: UUID().uuidString)
        let position = try #require(codec.decode(real))
        let now = Int64(Date().timeIntervalSince1970)
        let refused = [
            "garbage",
            "1-1-1",
            // The time pushed forward to dodge the resume window, MAC kept.
            "\(parts[0])-\(parts[1])-\(now + 86_400)-\(parts[3])",
            // Signed for another database.
            otherDatabase.encode(position),
            // Signed properly, but beyond what this database has written (a restored backup).
            codec.encode(StreamPosition(tx: position.tx + 1_000_000, id: position.id, time: now)),
            codec.encode(StreamPosition(tx: position.tx, id: position.id + 1_000_000, time: now)),
            // Signed properly, but older than the resume window.
            codec.encode(StreamPosition(tx: position.tx, id: position.id, time: now - 25 * 3600)),
        ]
        for lastEventID in refused {
            let client = try await SSEClient.connect(server.baseURL, token: bob.token, lastEventID: lastEventID)
            defer { client.close() }
            try await client.wait(timeout: .seconds(5)) { $0.contains { $0.event == "reset" } }
            #expect(!client.events.contains { $0.event == nil }, "\(lastEventID) replayed nothing")
        }
        let second = try await api.sendMessage(alice, conversation, "two")
        let resumed = try await SSEClient.connect(server.baseURL, token: bob.token, lastEventID: real)
        defer { resumed.close() }
        _ = try await resumed.arrival(ofMessage: second["id"] as! String, timeout: .seconds(5))
        #expect(!resumed.events.contains { $0.event == "reset" })
    }
}
