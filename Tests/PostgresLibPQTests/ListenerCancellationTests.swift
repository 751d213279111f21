import Logging
import PostgresLibPQ
import PostgresTestSupport
import Testing

@Suite("Listener cancellation")
struct ListenerCancellationTests {
    @Test("a listener retrying a server that is not there ends promptly when its task is cancelled", .timeLimit(.minutes(1)))
    func cancelWhileRetrying() async throws {
        let listener = PostgresListener(
            configuration: PostgresConfiguration(parameters: [("host", "/nonexistent"), ("user", "x"), ("dbname", "x")]),
            channels: ["events"],
            logger: TestCluster.logger
        )
        let task = Task { try await listener.run() }
        // Let it fail a connection attempt or two: the state of the reported hang.
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        task.cancel()
        try await task.value
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test("a listening listener ends promptly when its task is cancelled", .timeLimit(.minutes(1)))
    func cancelWhileListening() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let listener = PostgresListener(configuration: database, channels: ["events"], logger: TestCluster.logger)
        let task = Task { try await listener.run() }
        var events = listener.events.makeAsyncIterator()
        _ = await events.next()  // .listening: connected and LISTENing
        let start = ContinuousClock.now
        task.cancel()
        try await task.value
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}
