import Foundation
import MessengerApp
import PostgresLibPQ
import PostgresTestSupport
import Testing

/// Presence and typing across instances, over real sockets.
@Suite("Presence and typing")
struct PresenceTests {
    static func fast(_ configuration: inout AppConfiguration) {
        configuration.presenceGrace = .seconds(1)
        configuration.presenceHeartbeat = .seconds(1)
        // A closed stream must be noticed when the client closes it, not by the next SSE heartbeat's failed write.
        configuration.heartbeatInterval = .seconds(3600)
    }

    @Test("online and offline (after the grace period) reach contacts on another instance, never strangers; REST shows it")
    func acrossInstances() async throws {
        let a = try await TestServer.start { Self.fast(&$0) }
        defer { Task { await a.stop() } }
        let b = try await TestServer.start(database: a.database) { Self.fast(&$0) }
        defer { Task { await b.stop() } }
        let api = APIClient(baseURL: a.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let eve = try await api.devLogin(uniqueName("e"))
        let conversation = try await api.startConversation(alice, with: bob.username)
        let aliceStream = try await SSEClient.connect(a.baseURL, token: alice.token)
        let eveStream = try await SSEClient.connect(a.baseURL, token: eve.token)
        defer { for stream in [aliceStream, eveStream] { stream.close() } }
        try await RealtimeTests.waitFor { aliceStream.lastEventID != nil && eveStream.lastEventID != nil }

        let bobStream = try await SSEClient.connect(b.baseURL, token: bob.token)
        try await aliceStream.wait { Self.states($0, of: bob.userID).last == true }
        let listed = try await api.send(.GET, "/api/conversations", token: alice.token)
        let item = try #require(listed.array.first { $0["id"] as? String == conversation })
        #expect(item["online"] as? Bool == true)
        let participants = try await api.send(.GET, "/api/conversations/\(conversation)/participants", token: alice.token)
        #expect(participants.array.first { $0["id"] as? String == bob.userID }?["online"] as? Bool == true)

        bobStream.close()
        try await aliceStream.wait(timeout: .seconds(10)) { Self.states($0, of: bob.userID) == [false, true, false] }
        let offline = try #require(aliceStream.events.last { $0.event == "presence" && $0.json["userId"] as? String == bob.userID })
        #expect(offline.json["lastSeenAt"] as? String != nil)
        #expect(offline.id == nil, "presence is state, not history: no id")
        // Eve shares no conversation with Bob: she learns nothing.
        #expect(!eveStream.events.contains { $0.event?.hasPrefix("presence") == true && $0.data?.contains(bob.userID) == true })
    }

    @Test("a reconnect within the grace period sends no offline/online pair; a new stream starts with a snapshot")
    func graceAndSnapshot() async throws {
        let server = try await TestServer.start { $0.presenceGrace = .seconds(2) }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let carol = try await api.devLogin(uniqueName("c"))
        _ = try await api.startConversation(alice, with: bob.username)
        _ = try await api.startConversation(carol, with: bob.username)
        let aliceStream = try await SSEClient.open(server.baseURL, token: alice.token)
        defer { aliceStream.close() }
        let bobStream = try await SSEClient.connect(server.baseURL, token: bob.token)
        try await aliceStream.wait { Self.states($0, of: bob.userID).last == true }

        // A new stream of a contact starts with the current presence of everyone it shares a conversation with.
        let carolStream = try await SSEClient.connect(server.baseURL, token: carol.token)
        defer { carolStream.close() }
        let first = try await carolStream.wait { !$0.isEmpty }.first
        #expect(first?.event == "presence_snapshot")
        let users = first?.json["users"] as? [[String: Any]] ?? []
        #expect(users.first { $0["userId"] as? String == bob.userID }?["online"] as? Bool == true)

        // Bob reloads: his stream closes and a new one opens well within the grace period.
        bobStream.close()
        try await Task.sleep(for: .milliseconds(300))
        let again = try await SSEClient.connect(server.baseURL, token: bob.token)
        defer { again.close() }
        try await Task.sleep(for: .seconds(3))
        #expect(Self.states(aliceStream.events, of: bob.userID).last == true, "no flap: \(aliceStream.events)")
        #expect(!Self.presence(aliceStream.events, of: bob.userID).contains(false), "no flap: \(aliceStream.events)")
    }

    @Test("streams of one user opened at once (their snapshot reads are shared) each start with the current snapshot, and all follow later changes")
    func snapshotsOfStreamsOpenedTogether() async throws {
        let server = try await TestServer.start { Self.fast(&$0) }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        _ = try await api.startConversation(alice, with: bob.username)
        let bobStream = try await SSEClient.connect(server.baseURL, token: bob.token)
        // Bob is online before any of Alice's streams opens: a watcher sees it from its snapshot or an event.
        let watcher = try await SSEClient.connect(server.baseURL, token: alice.token)
        defer { watcher.close() }
        try await watcher.wait { Self.states($0, of: bob.userID).last == true }

        let streams = try await withThrowingTaskGroup(of: SSEClient.self) { group in
            for _ in 0..<6 { group.addTask { try await SSEClient.connect(server.baseURL, token: alice.token) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        defer { for stream in streams { stream.close() } }
        for stream in streams {
            let first = try await stream.wait { !$0.isEmpty }.first
            #expect(first?.event == "presence_snapshot")
            let users = first?.json["users"] as? [[String: Any]] ?? []
            #expect(users.first { $0["userId"] as? String == bob.userID }?["online"] as? Bool == true)
        }
        bobStream.close()
        for stream in streams {
            try await stream.wait(timeout: .seconds(10)) { Self.states($0, of: bob.userID) == [true, false] }
        }
    }

    @Test("typing reaches the other participants on every instance, not the typist, expires, is rate-limited, never replayed")
    func typing() async throws {
        let a = try await TestServer.start()
        defer { Task { await a.stop() } }
        let b = try await TestServer.start(database: a.database)
        defer { Task { await b.stop() } }
        let api = APIClient(baseURL: a.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let eve = try await api.devLogin(uniqueName("e"))
        let conversation = try await api.startConversation(alice, with: bob.username)
        let aliceStream = try await SSEClient.connect(a.baseURL, token: alice.token)
        let bobStream = try await SSEClient.connect(b.baseURL, token: bob.token)
        defer { for stream in [aliceStream, bobStream] { stream.close() } }
        try await RealtimeTests.waitFor { aliceStream.lastEventID != nil && bobStream.lastEventID != nil }
        let resumeFrom = try #require(bobStream.lastEventID)

        let path = "/api/conversations/\(conversation)/typing"
        let began = ContinuousClock.now
        #expect(try await api.send(.POST, path, token: alice.token, json: ["typing": true]).status == 204)
        try await bobStream.wait { $0.contains { $0.event == "typing" } }
        let event = try #require(bobStream.events.first { $0.event == "typing" })
        #expect(event.json["userId"] as? String == alice.userID)
        #expect(event.json["username"] as? String == alice.username)
        #expect(event.json["typing"] as? Bool == true)
        #expect(event.json["expiresInMs"] as? Int == 6000)
        #expect(event.id == nil)
        // Refreshes within 2 s are accepted and dropped; a stop always goes through.
        for _ in 0..<5 { #expect(try await api.send(.POST, path, token: alice.token, json: ["typing": true]).status == 204) }
        // On a machine running the whole suite at once the refreshes can take longer than the window (2 s from the
        // last one let through), and then one per window rightly goes through: within 2 s none may, and never more
        // than the elapsed windows allow (all five would pass if the limit were broken).
        let windowsElapsed = Int((ContinuousClock.now - began) / .seconds(2))
        #expect(try await api.send(.POST, path, token: alice.token, json: ["typing": false]).status == 204)
        try await bobStream.wait { $0.contains { $0.event == "typing" && $0.json["typing"] as? Bool == false } }
        let typingEvents = bobStream.events.filter { $0.event == "typing" }.count
        #expect((2...2 + min(windowsElapsed, 5)).contains(typingEvents), "\(typingEvents) typing events, \(windowsElapsed) windows elapsed")
        #expect(!aliceStream.events.contains { $0.event == "typing" }, "not to the typist's own streams")

        // Outsiders: 404, and nothing leaks.
        #expect(try await api.send(.POST, path, token: eve.token, json: ["typing": true]).status == 404)
        #expect(try await api.send(.POST, path, token: alice.token, json: ["typing": "yes"]).status == 400)
        // A resumed stream replays messages, never typing.
        let message = try await api.sendMessage(alice, conversation, "after typing")
        let resumed = try await SSEClient.connect(b.baseURL, token: bob.token, lastEventID: resumeFrom)
        defer { resumed.close() }
        _ = try await resumed.arrival(ofMessage: message["id"] as! String)
        #expect(!resumed.events.contains { $0.event == "typing" })
    }

    @Test("--presence off: no presence events, no presence fields")
    func presenceOff() async throws {
        let server = try await TestServer.start { $0.presenceEnabled = false }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let bobStream = try await SSEClient.connect(server.baseURL, token: bob.token)
        defer { bobStream.close() }
        let aliceStream = try await SSEClient.connect(server.baseURL, token: alice.token)
        defer { aliceStream.close() }
        let sent = try await api.sendMessage(bob, conversation, "hello")
        _ = try await aliceStream.arrival(ofMessage: sent["id"] as! String)
        #expect(!aliceStream.events.contains { $0.event?.hasPrefix("presence") == true })
        let participants = try await api.send(.GET, "/api/conversations/\(conversation)/participants", token: alice.token)
        #expect(participants.array.allSatisfy { $0["online"] is NSNull })
    }

    /// The `online` values of presence events about `userID`, in order.
    static func presence(_ events: [SSEEvent], of userID: String) -> [Bool] {
        events.filter { $0.event == "presence" && $0.json["userId"] as? String == userID }.compactMap { $0.json["online"] as? Bool }
    }

    /// What a client knows of `userID` over time: the snapshot's value, then each event's, repeats collapsed.
    static func states(_ events: [SSEEvent], of userID: String) -> [Bool] {
        var states: [Bool] = []
        for event in events {
            var value: Bool?
            if event.event == "presence_snapshot" {
                let users = event.json["users"] as? [[String: Any]] ?? []
                value = users.first { $0["userId"] as? String == userID }?["online"] as? Bool
            } else if event.event == "presence", event.json["userId"] as? String == userID {
                value = event.json["online"] as? Bool
            }
            if let value, states.last != value { states.append(value) }
        }
        return states
    }
}
