import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@Suite("PostgreSQL going away and coming back", .serialized)
struct RestartTests {
    @Test("queries fail cleanly during an outage and succeed after it; the listener re-LISTENs and says so")
    func restart() async throws {
        let cluster = try TestCluster.makeCluster(name: "restart")
        try cluster.start()
        defer { try? cluster.stop() }
        let pool = PostgresConnectionPool(
            configuration: cluster.configuration, maximumConnections: 3, acquireTimeout: .seconds(2), logger: TestCluster.logger)
        defer { Task { await pool.shutdown() } }
        let listener = PostgresListener(configuration: cluster.configuration, channels: ["test_channel"], logger: TestCluster.logger)
        let listening = Task { try await listener.run() }
        defer {
            listener.stop()
            listening.cancel()
        }
        var events = listener.events.makeAsyncIterator()
        #expect(await events.next() == .listening(isReconnect: false))

        try await pool.query("SELECT pg_notify('test_channel', 'before')")
        let before = await events.next()
        guard case .notification(let first) = before else {
            Issue.record("expected a notification, got \(String(describing: before))")
            return
        }
        #expect(first.payload == "before")

        // Crash-stop the server: open connections die.
        try cluster.kill()
        let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(error.isConnectionError)
        #expect(!error.description.contains("/tmp"))

        try cluster.start()
        // The pool recovers by itself (a statement in flight at the moment of the crash may fail, none after).
        var recovered = false
        for _ in 0..<20 where !recovered {
            recovered = (try? await pool.query("SELECT 1")) != nil
            if !recovered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recovered)
        #expect(try await pool.query("SELECT 41 + 1").first!.decode(Int.self, at: 0) == 42)

        // The listener reports the reconnect, then receives again.
        #expect(await events.next() == .listening(isReconnect: true))
        try await pool.query("SELECT pg_notify('test_channel', 'after')")
        guard case .notification(let second) = await events.next() else {
            Issue.record("expected a notification after the restart")
            return
        }
        #expect(second.payload == "after")
    }

    @Test("the embedded cluster keeps its data across a stop and a start")
    func embeddedRestart() async throws {
        let cluster = try TestCluster.makeCluster(name: "embedded")
        let started = try cluster.start()
        #expect(started)
        // A second start while running reuses the running server.
        #expect(try cluster.start() == false)
        let first = try PostgresConnection(configuration: cluster.configuration, logger: TestCluster.logger)
        try first.unsafeExecute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        first.close()
        try cluster.stop()
        #expect(try cluster.start())
        let second = try PostgresConnection(configuration: cluster.configuration, logger: TestCluster.logger)
        #expect(try second.query("SELECT v FROM kept").first!.decode(String.self, at: 0) == "still here")
        second.close()
        try cluster.stop()
    }
}
