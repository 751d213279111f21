import Foundation
import MessengerApp
import Testing

/// How a stream's first bytes leave the server, read from a plain socket.
@Suite struct StreamOpeningTests {
    typealias Names = AppMetrics.Names

    /// A stream's response head waits for its presence snapshot, a database read later: head, position and snapshot
    /// leave in one write, whether the stream opened in the event-loop turn its request arrived in
    /// (``DirectStreamOpener/openNow``) or in a short task (``DirectStreamOpener/open``: here the first stream, for
    /// which the registry's position had to be read). Were the head flushed at once, the client's first read would
    /// end before the snapshot.
    @Test func headPositionAndSnapshotLeaveInOneWrite() async throws {
        let server = try await TestServer.start {
            $0.metricsPort = 0
            // The path a stream takes depends on a known session: keep it known however slowly the test runs.
            $0.sessionCacheTTL = .seconds(3600)
        }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let alice = try await api.devLogin(uniqueName("alice"))
        let bob = try await api.devLogin(uniqueName("bob"))
        let carol = try await api.devLogin(uniqueName("carol"))
        _ = try await api.startConversation(alice, with: bob.username)

        // The first stream: no stream is open, so the registry's position is read first (a task opens it).
        try await Self.expectOneWrite(token: bob.token, contact: alice.userID, server: server)
        var scrape = try await MetricsTests.scrape(server)
        #expect(scrape.value(Names.streamsOpened, ["path": "direct"]) == 1)

        // An open stream keeps the registry's position current, so Alice's stream needs no database read to open.
        // (Carol's own stream may open either way: Bob's may still be registered until the server sees it closed.)
        let carolStream = try await SSEClient.connect(server.baseURL, token: carol.token)
        defer { carolStream.close() }
        scrape = try await MetricsTests.scrape(server)
        let immediate = scrape.value(Names.streamsOpened, ["path": "immediate"])
        try await Self.expectOneWrite(token: alice.token, contact: bob.userID, server: server)
        scrape = try await MetricsTests.scrape(server)
        #expect(scrape.value(Names.streamsOpened, ["path": "immediate"]) == immediate + 1)
    }

    private static func expectOneWrite(token: String, contact: String, server: TestServer) async throws {
        let request = Array("GET /api/messages?token=\(token) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".utf8)
        let first = String(decoding: try await RawHTTP.firstRead(request, port: server.port), as: UTF8.self)
        #expect(first.hasPrefix("HTTP/1.1 200"))
        #expect(first.contains("\nid: "), "the position frame")
        #expect(first.contains("event: presence_snapshot"), "the first read: \(first)")
        #expect(first.contains("\"userId\":\"\(contact)\""), "the contact's presence")
    }
}
