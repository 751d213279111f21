import Foundation
import HummingbirdWSClient
import MessengerApp
import NIOWebSocket
import PostgresTestSupport
import Synchronization
import Testing

@Suite("Realtime delivery and commands over WebSocket (real sockets, real client)")
struct WebSocketTests {
    @Test("upgrade refusals: a JSON 401 without or with a bad token, 426 without an upgrade; logout closes the socket")
    func authentication() async throws {
        // No heartbeat (nor ping) within the test: its session re-check is the only other way a socket could end.
        let server = try await TestServer.start { $0.heartbeatInterval = .seconds(3600) }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        // A refused token: the socket opens, says why in an error frame (the guard's JSON body and status), and
        // closes with 1008; it is never subscribed.
        // (Read off a raw socket: these frames follow the 101 at once, in the same packet, which is exactly when the
        // swift-websocket client can miss them.)
        for token in [nil, "not-a-token", alice.token + "x"] {
            let path = "/api/ws" + (token.map { "?token=" + $0 } ?? "")
            let frames = try await Self.rawSocketFrames(port: server.port, path: path)
            try #require(frames.count == 2, "\(frames)")
            #expect(frames[0].opcode == 0x1)
            let error = try JSONSerialization.jsonObject(with: Data(frames[0].payload)) as? [String: Any] ?? [:]
            #expect(error["type"] as? String == "error")
            #expect(error.data["status"] as? Int == 401)
            #expect(error.data["error"] as? String == (token == nil ? "missing token" : "invalid or expired token"))
            #expect(frames[1].opcode == 0x8)
            #expect(frames[1].payload.prefix(2) == [0x03, 0xF0], "1008")
            #expect(String(decoding: frames[1].payload.dropFirst(2), as: UTF8.self) == "unauthorized")
        }
        let plain = try await api.send(.GET, "/api/ws", token: alice.token)
        #expect(plain.status == 426)
        #expect(plain.error?.contains("WebSocket") == true)
        let badParameter = try await api.send(.GET, "/api/ws?resume=yes", token: alice.token)
        #expect(badParameter.status == 400)
        let badOnSocket = try await Self.rawSocketFrames(port: server.port, path: "/api/ws?resume=yes&token=" + alice.token)
        #expect((try? JSONSerialization.jsonObject(with: Data(badOnSocket.first?.payload ?? [])) as? [String: Any])?.data["status"] as? Int == 400)
        #expect(badOnSocket.last?.payload.prefix(2) == [0x03, 0xF0], "1008")
        let plainNoToken = try await api.send(.GET, "/api/ws")
        #expect(plainNoToken.status == 401)
        #expect(plainNoToken.error == "missing token")

        let socket = try await WSClient.open(server.baseURL, token: alice.token)
        defer { socket.close() }
        #expect(socket.frames.first?["type"] as? String == "position")
        #expect(try await api.send(.POST, "/api/logout", token: alice.token).status == 204)
        // At once (the logout closes it); the heartbeat's session re-check, an hour away here, is the only other way it
        // could end, so 10 s tells them apart (as in `RealtimeTests.logoutClosesStream`) on a loaded machine.
        try await socket.waitForEnd(timeout: .seconds(10))
    }

    @Test("send is acknowledged with the stored message; a resend with the same clientId returns it; errors match REST")
    func commands() async throws {
        // The dispatcher's safety look a minute away: the message and read events must come from their own wake-ups.
        let server = try await TestServer.start { $0.safetyLookInterval = .seconds(60) }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let socket = try await WSClient.open(server.baseURL, token: alice.token)
        defer { socket.close() }
        let bobSocket = try await WSClient.open(server.baseURL, token: bob.token)
        defer { bobSocket.close() }

        let ack = try await socket.command(["type": "send", "conversationId": conversation, "content": "hi bob", "clientId": "c-1"])
        #expect(ack["type"] as? String == "ack")
        #expect(ack["frame"] as? String == "send")
        #expect(ack["created"] as? Bool == true)
        let stored = ack.data
        #expect(stored["content"] as? String == "hi bob")
        #expect(stored["clientId"] as? String == "c-1")
        #expect(stored["mine"] as? Bool == true)
        let id = try #require(stored["id"] as? String)
        // The same clientId again: the stored message, nothing new.
        let again = try await socket.command(["type": "send", "conversationId": conversation, "content": "hi bob", "clientId": "c-1"])
        #expect(again["created"] as? Bool == false)
        #expect(again.data["id"] as? String == id)
        // Bob receives it once, as a stream event with a position id; the REST listing has it once.
        try await bobSocket.wait { $0.contains { $0["type"] as? String == "message" && $0.data["id"] as? String == id } }
        let listed = try await api.send(.GET, "/api/conversations/\(conversation)/messages", token: bob.token).array
        #expect(listed.filter { $0["id"] as? String == id }.count == 1)

        // Errors: the REST route's status and body.
        let restEmpty = try await api.send(.POST, "/api/conversations/\(conversation)/messages", token: alice.token, json: ["content": "  "])
        let wsEmpty = try await socket.command(["type": "send", "conversationId": conversation, "content": "  "])
        #expect(restEmpty.status == 422)
        #expect(wsEmpty["type"] as? String == "error")
        #expect(wsEmpty.data["status"] as? Int == 422)
        #expect(wsEmpty.data["frame"] as? String == "send")
        #expect(wsEmpty.data["error"] as? String == restEmpty.error)
        #expect(wsEmpty.data["errors"] as? [String: String] == restEmpty.object["errors"] as? [String: String])
        let tooLong = try await socket.command(["type": "send", "conversationId": conversation, "content": String(repeating: "x", count: 481)])
        #expect(tooLong.data["status"] as? Int == 422)
        let restMissing = try await api.send(.POST, "/api/conversations/999999/messages", token: alice.token, json: ["content": "x"])
        let wsMissing = try await socket.command(["type": "send", "conversationId": "999999", "content": "x"])
        #expect(wsMissing.data["status"] as? Int == restMissing.status)
        #expect(wsMissing.data["error"] as? String == restMissing.error)
        let nul = try await socket.command(["type": "send", "conversationId": conversation, "content": "a\u{0}b"])
        #expect(nul.data["status"] as? Int == 422)

        // Malformed JSON and unknown frames get an error frame; the socket stays open and keeps working.
        try await socket.send("{not json")
        let malformed = try await socket.frame("error") { $0.data["error"] as? String == "malformed JSON" }
        #expect(malformed.data["status"] as? Int == 400)
        let unknown = try await socket.command(["type": "shout"])
        #expect(unknown.data["status"] as? Int == 400)
        #expect(!socket.ended)

        // read: Bob marks read over his socket; Alice's socket gets the read event.
        let read = try await bobSocket.command(["type": "read", "conversationId": conversation, "upTo": id])
        #expect(read["type"] as? String == "ack")
        try await socket.wait { $0.contains { $0["type"] as? String == "read" && $0.data["userId"] as? String == bob.userID } }
        let badRead = try await bobSocket.command(["type": "read", "conversationId": conversation, "upTo": "nope"])
        #expect(badRead.data["status"] as? Int == 404)
        #expect(badRead.data["error"] as? String == "message not found")
        // typing: reaches the other participant only.
        let typing = try await socket.command(["type": "typing", "conversationId": conversation, "typing": true])
        #expect(typing["type"] as? String == "ack")
        let typed = try await bobSocket.frame("typing")
        #expect(typed.data["userId"] as? String == alice.userID)
        #expect(typed["id"] == nil)
    }

    @Test("SSE and WebSocket subscribers of the same user get the same events, in the same order, with the same ids")
    func bothTransports() async throws {
        // The dispatcher's safety look a minute away: reads, edits and deletions must come from their own wake-ups.
        let server = try await TestServer.start { $0.safetyLookInterval = .seconds(60) }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let aliceSSE = try await SSEClient.open(server.baseURL, token: alice.token)
        defer { aliceSSE.close() }
        let aliceWS = try await WSClient.open(server.baseURL, token: alice.token)
        defer { aliceWS.close() }
        let bobWS = try await WSClient.open(server.baseURL, token: bob.token)
        defer { bobWS.close() }

        var ids: [String] = []
        // The last message is Alice's, so Bob's read below moves his position (a sender has read their own).
        for n in 0..<6 {
            // Alternate: REST sends from Bob, WebSocket sends from Alice.
            if n % 2 == 0 {
                ids.append(try await api.sendMessage(bob, conversation, "rest \(n)")["id"] as! String)
            } else {
                let ack = try await aliceWS.command(["type": "send", "conversationId": conversation, "content": "ws \(n)"])
                ids.append(try #require(ack.data["id"] as? String))
            }
        }
        _ = try await bobWS.command(["type": "read", "conversationId": conversation])
        // Edits and deletions are stream events like the others: they reach sockets with no WebSocket code of their own.
        let edited = ids[0]
        let path = "/api/conversations/\(conversation)/messages/"
        #expect(try await api.send(.PATCH, path + edited, token: bob.token, json: ["content": "rest 0, edited"]).status == 200)
        #expect(try await api.send(.DELETE, path + ids[2], token: bob.token).status == 204)
        try await aliceSSE.wait { $0.contains { $0.event == "message_deleted" } }
        try await aliceWS.wait { $0.contains { $0["type"] as? String == "message_deleted" } }
        try await bobWS.wait { $0.filter { $0["type"] as? String == "message" }.count == 6 }
        let update = try #require(aliceWS.events.first { $0["type"] as? String == "message_updated" })
        #expect(update.data["id"] as? String == edited && update.data["content"] as? String == "rest 0, edited")
        #expect(update.data["editedAt"] is String)
        let deletion = try #require(aliceWS.events.first { $0["type"] as? String == "message_deleted" })
        #expect(deletion.data["id"] as? String == ids[2] && deletion.data["deleted"] as? Bool == true)

        let sse = aliceSSE.events.filter { $0.id != nil }.map { [$0.id!, $0.event ?? "message", ($0.json["id"] as? String) ?? ""] }
        let ws = aliceWS.events.map { [$0["id"] as! String, $0["type"] as! String, ($0.data["id"] as? String) ?? ""] }
        #expect(sse == ws, "same ids, types and order on both transports")
        #expect(ws.filter { $0[1] == "message" }.map { $0[2] } == ids)
        // `mine` follows the reader, as over SSE.
        let bobMessages = bobWS.events.filter { $0["type"] as? String == "message" }
        #expect(bobMessages.map { $0.data["mine"] as? Bool } == [true, false, true, false, true, false])
    }

    @Test("lastEventId (or a first resume frame) resumes exactly after the given position; a bad one gets a reset frame")
    func resume() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let first = try await WSClient.open(server.baseURL, token: bob.token)
        let m1 = try await api.sendMessage(alice, conversation, "one")
        let seen = try await first.frame("message") { $0.data["id"] as? String == m1["id"] as? String }
        let position = try #require(seen["id"] as? String)
        first.close()
        try await first.waitForEnd()
        let m2 = try await api.sendMessage(alice, conversation, "two")
        let m3 = try await api.sendMessage(alice, conversation, "three")
        let second = try await WSClient.open(server.baseURL, token: bob.token, lastEventID: position, byQuery: true)
        defer { second.close() }
        let m4 = try await api.sendMessage(alice, conversation, "four")
        try await second.wait { $0.contains { $0.data["id"] as? String == m4["id"] as? String } }
        let ids = second.events.filter { $0["type"] as? String == "message" }.map { $0.data["id"] as? String }
        #expect(ids == [m2, m3, m4].map { $0["id"] as? String })

        // The same from a first `resume` frame (`?resume=frame`: nothing is sent before it).
        let m5 = try await api.sendMessage(alice, conversation, "five")
        let third = try await WSClient.connectRaw(server.baseURL + "/api/ws?resume=frame&token=" + bob.token)
        defer { third.close() }
        try await third.waitForConnection()
        try await third.send(json: ["type": "resume", "lastEventId": position])
        try await third.wait { $0.contains { $0.data["id"] as? String == m5["id"] as? String } }
        #expect(
            third.events.filter { $0["type"] as? String == "message" }.map { $0.data["id"] as? String }
                == [m2, m3, m4, m5].map { $0["id"] as? String })
        // Later, `resume` is refused (the stream already runs) and the socket stays open.
        let late = try await third.command(["type": "resume", "lastEventId": position])
        #expect(late.data["status"] as? Int == 400)
        #expect(!third.ended)

        let stale = try await WSClient.open(server.baseURL, token: bob.token, lastEventID: "1-1-1")
        defer { stale.close() }
        let reset = try await stale.frame("reset")
        #expect(reset["id"] as? String != nil)
    }

    @Test(
        "property: concurrent writers on two instances, a WebSocket subscriber reconnecting at random to either: every message exactly once, in order"
    )
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
        let received = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
        let firstSocket = try await WSClient.open(server.baseURL, token: reader.token)
        let subscriberTask = Task {
            var lastID: String?
            var next: WSClient? = firstSocket
            while !stop.load(ordering: .relaxed) {
                let socket: WSClient
                if let first = next {
                    socket = first
                    next = nil
                } else {
                    // Both ways of resuming: the query parameter and the first frame.
                    socket = try await WSClient.open(bases.randomElement()!, token: reader.token, lastEventID: lastID, byQuery: Bool.random())
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...150)))
                socket.close()
                try await socket.waitForEnd()
                let frames = socket.frames
                received.withLock { $0 += frames.filter { $0["type"] as? String == "message" }.compactMap { $0.data["content"] as? String } }
                lastID = frames.last { $0["id"] != nil }?["id"] as? String ?? lastID
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, writer) in writers.enumerated() {
                group.addTask {
                    for n in 0..<perWriter {
                        try await (n % 2 == 0 ? api : apiOther).sendMessage(writer, conversations[index], "w\(index)-\(n)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while received.withLock({ $0.count }) < writers.count * perWriter && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        stop.store(true, ordering: .relaxed)
        try await subscriberTask.value
        let contents = received.withLock { $0 }
        #expect(contents.count == writers.count * perWriter, "every message exactly once")
        #expect(Set(contents).count == contents.count, "no duplicates")
        for index in writers.indices {
            #expect(contents.filter { $0.hasPrefix("w\(index)-") } == (0..<perWriter).map { "w\(index)-\($0)" }, "per-conversation order")
        }
    }

    @Test("oversized (1009), binary (1003) and too many (1008) frames close the socket; a reader that stops reading is cut")
    func limits() async throws {
        let server = try await TestServer.start {
            $0.streamBufferSize = 64
            $0.webSocketFramesPerSecond = 5
        }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)

        try await Self.expectFrameTooLarge(server.baseURL, token: alice.token, bytes: 17 * 1024)

        let binary = try await WSClient.open(server.baseURL, token: alice.token)
        try await binary.sendBinary([1, 2, 3])
        try await binary.waitForEnd()
        #expect(binary.closeCode == .unacceptableData)

        try await Self.expectTooManyFrames(server.baseURL, token: alice.token, sending: 40)

        // The slow consumer: a raw upgraded socket that never reads; a healthy socket of the same user gets all.
        let stuck = try await StuckReader.connect(port: server.port, path: "/api/ws?token=\(bob.token)", headers: StuckReader.webSocketHeaders)
        let healthy = try await WSClient.open(server.baseURL, token: bob.token)
        defer { healthy.close() }
        try await chat.expectSlowConsumerCutOff(stuck: stuck) { lastID in
            try await healthy.wait(timeout: .seconds(20)) { $0.contains { $0.data["id"] as? String == lastID } }
        }
    }

    /// A socket that sends one text frame of `bytes` is closed with 1009.
    static func expectFrameTooLarge(_ baseURL: String, token: String, bytes: Int) async throws {
        let big = try await WSClient.open(baseURL, token: token)
        try await big.send(String(repeating: "x", count: bytes))
        try await big.waitForEnd()
        #expect(big.closeCode == .messageTooLarge)
    }

    /// A socket that sends up to `count` frames as fast as it can is closed with 1008 `too many frames`.
    static func expectTooManyFrames(_ baseURL: String, token: String, sending count: Int) async throws {
        let flood = try await WSClient.open(baseURL, token: token)
        for _ in 0..<count where !flood.ended { try? await flood.send("{}") }
        try await flood.waitForEnd()
        #expect(flood.closeCode == .policyViolation)
        #expect(flood.closeReason == "too many frames")
    }

    @Test("the frame size and rate limits come from the executable's command line")
    func limitsFromCommandLine() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let server = try await ServerProcess.start(
            database: database, extraArguments: ["--max-websocket-frame-bytes", "1024", "--websocket-frames-per-second", "2"])
        defer { server.kill() }
        let alice = try await APIClient(baseURL: server.baseURL).devLogin(uniqueName("a"))

        // 2 KiB is well inside the default 16 KiB, and 8 frames at once inside the default burst of 40.
        try await Self.expectFrameTooLarge(server.baseURL, token: alice.token, bytes: 2048)
        try await Self.expectTooManyFrames(server.baseURL, token: alice.token, sending: 8)

        // Within both limits the socket stays open and answers.
        let calm = try await WSClient.open(server.baseURL, token: alice.token)
        defer { calm.close() }
        try await calm.send("{}")
        let answer = try await calm.wait(timeout: .seconds(5)) { $0.contains { $0["type"] as? String == "error" } }
        #expect(answer.last?["type"] as? String == "error")
        #expect(!calm.ended)
    }

    @Test("per-user limit across transports; the server pings every heartbeat; a client that never answers is closed (1001)")
    func heartbeats() async throws {
        // Beyond the per-user limit (SSE and WebSocket together) the oldest socket is told `closed` and closed. On a
        // server of its own with the usual heartbeat: with a 1 s one, a loaded machine (the whole suite at once) can
        // delay the oldest client's pong long enough for the heartbeat to close it first (1001, seen in 2 of 4 full
        // runs), which is the other half of this test, not this one.
        let limited = try await TestServer.start { $0.maxStreamsPerUser = 2 }
        defer { Task { await limited.stop() } }
        let carol = try await APIClient(baseURL: limited.baseURL).devLogin(uniqueName("c"))
        let oldest = try await WSClient.open(limited.baseURL, token: carol.token)
        let sse = try await SSEClient.open(limited.baseURL, token: carol.token)
        defer { sse.close() }
        let newest = try await WSClient.open(limited.baseURL, token: carol.token)
        defer { newest.close() }
        try await oldest.waitForEnd()
        #expect(oldest.frames.last?["type"] as? String == "closed")
        #expect(oldest.frames.last?.data["reason"] as? String == "too_many_streams")
        #expect(oldest.closeCode == .policyViolation)
        #expect(!newest.ended)

        let server = try await TestServer.start { $0.heartbeatInterval = .seconds(1) }
        defer { Task { await server.stop() } }
        let alice = try await APIClient(baseURL: server.baseURL).devLogin(uniqueName("a"))
        // The real client answers pings by itself.
        let answering = try await WSClient.open(server.baseURL, token: alice.token)
        defer { answering.close() }
        // A raw upgraded socket that reads but never answers.
        let silent = try await StuckReader.connect(port: server.port, path: "/api/ws?token=\(alice.token)", headers: StuckReader.webSocketHeaders)
        defer { silent.close() }
        let bytes = try #require(try await silent.readUntilEOF(timeout: .seconds(10)), "the silent socket was never closed")
        let response = try #require(bytes.firstRange(of: Array("\r\n\r\n".utf8)))
        #expect(String(decoding: bytes[..<response.lowerBound], as: UTF8.self).hasPrefix("HTTP/1.1 101"))
        let frames = Self.frames(in: Array(bytes[response.upperBound...]))
        let ping = try #require(frames.firstIndex { $0.opcode == 0x9 }, "a ping")
        let close = try #require(frames.firstIndex { $0.opcode == 0x8 }, "a close frame")
        #expect(ping < close)
        #expect(frames[close].payload.prefix(2) == [0x03, 0xE9], "1001")
        // The answering client outlived it.
        #expect(!answering.ended)
    }

    /// The frames a raw upgraded socket receives up to the server's close frame.
    static func rawSocketFrames(port: Int, path: String) async throws -> [(opcode: UInt8, payload: [UInt8])] {
        let socket = try await StuckReader.connect(port: port, path: path, headers: StuckReader.webSocketHeaders)
        defer { socket.close() }
        func frames(_ bytes: [UInt8]) -> [(opcode: UInt8, payload: [UInt8])] {
            guard let head = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return [] }
            return Self.frames(in: Array(bytes[head.upperBound...]))
        }
        let bytes = try await socket.receive(timeout: .seconds(10)) { frames($0).contains { $0.opcode == 0x8 } }
        let received = try #require(bytes, "no close frame")
        #expect(String(decoding: received.prefix(12), as: UTF8.self) == "HTTP/1.1 101")
        return frames(received)
    }

    /// Unmasked server frames: opcode and payload.
    static func frames(in bytes: [UInt8]) -> [(opcode: UInt8, payload: [UInt8])] {
        var frames: [(opcode: UInt8, payload: [UInt8])] = []
        var index = 0
        while index + 2 <= bytes.count {
            var length = Int(bytes[index + 1] & 0x7F)
            var start = index + 2
            if length == 126, start + 2 <= bytes.count {
                length = Int(bytes[start]) << 8 | Int(bytes[start + 1])
                start += 2
            } else if length == 127, start + 8 <= bytes.count {
                length = bytes[start..<(start + 8)].reduce(0) { $0 << 8 | Int($1) }
                start += 8
            }
            guard start + length <= bytes.count else { break }
            frames.append((bytes[index] & 0x0F, Array(bytes[start..<(start + length)])))
            index = start + length
        }
        return frames
    }

    @Test("graceful shutdown closes sockets with 1001")
    func shutdown() async throws {
        let server = try await TestServer.start()
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let socket = try await WSClient.open(server.baseURL, token: alice.token)
        await server.stop()
        try await socket.waitForEnd(timeout: .seconds(5))
        #expect(socket.closeCode == .goingAway)
    }
}
