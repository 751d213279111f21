import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Synchronization
import Testing

@Suite("Pool waiters, shutdown and statement names")
struct PoolWaiterTests {
    /// Holds the pool's only connection until `release` is signalled.
    static func holdOnlyConnection(_ pool: PostgresConnectionPool) async -> (held: Task<Void, any Error>, release: AsyncStream<Void>.Continuation) {
        let (released, release) = AsyncStream.makeStream(of: Void.self)
        let (taken, take) = AsyncStream.makeStream(of: Void.self)
        let held = Task {
            try await pool.withConnection { _ in
                take.yield()
                for await _ in released { break }
            }
        }
        for await _ in taken { break }
        return (held, release)
    }

    /// For loops that wait for a state: ends with the test's time limit (which cancels) instead of spinning on.
    static func yieldUnlessOverTime() async throws {
        try Task.checkCancellation()
        await Task.yield()
    }

    @Test("a waiter whose task is cancelled before it enqueues does not wait past its deadline", .timeLimit(.minutes(1)))
    func cancelledBeforeEnqueue() async throws {
        let pool = try await BindRoundTripTests.pool(size: 1, timeout: .seconds(30))
        defer { Task { await pool.shutdown() } }
        let (held, release) = await Self.holdOnlyConnection(pool)
        let start = ContinuousClock.now
        let waiter = Task {
            // Cancelled before it asks: the cancellation handler runs before anything is enqueued.
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pool.query("SELECT 1")
        }
        // The connection stays held for the whole wait: only the waiter's own cancellation can end it.
        let outcome = await waiter.result
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(pool.waitingCount == 0)
        release.finish()
        try await held.value
    }

    @Test("each waiter times out at its own deadline, and again after a quiet spell", .timeLimit(.minutes(1)))
    func deadlinesPerWaiter() async throws {
        let timeout = Duration.milliseconds(1500)
        let pool = try await BindRoundTripTests.pool(size: 1, timeout: timeout)
        defer { Task { await pool.shutdown() } }
        let (held, release) = await Self.holdOnlyConnection(pool)
        let first = Task { try await pool.query("SELECT 1") }
        while pool.waitingCount < 1 { try await Self.yieldUnlessOverTime() }
        try await Task.sleep(for: .seconds(1))
        // The second waiter's deadline comes a second after the first one's: the first timing out must not take it
        // along. (A second, not less: on a busy machine this task may resume that much later than the first's timeout,
        // and with 200 ms the second waiter had sometimes timed out too by then.)
        let secondStart = ContinuousClock.now
        let second = Task { try await pool.query("SELECT 1") }
        while pool.waitingCount < 2 { try await Self.yieldUnlessOverTime() }
        let firstError = try await #require(throws: PostgresError.self) { try await first.value }
        #expect(firstError.kind == .poolTimeout)
        #expect(pool.waitingCount == 1)
        let secondError = try await #require(throws: PostgresError.self) { try await second.value }
        #expect(secondError.kind == .poolTimeout)
        #expect(ContinuousClock.now - secondStart >= timeout)
        // Nobody waits now, so the deadline watcher has ended; the next waiter must start it again (else it would wait
        // for the held connection until the time limit).
        #expect(pool.waitingCount == 0)
        let thirdStart = ContinuousClock.now
        let thirdError = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(thirdError.kind == .poolTimeout)
        #expect(ContinuousClock.now - thirdStart >= timeout)
        release.finish()
        try await held.value
    }

    @Test("shutting the pool down wakes its waiters with a clear error", .timeLimit(.minutes(1)))
    func shutdownWakesWaiters() async throws {
        let pool = try await BindRoundTripTests.pool(size: 1, timeout: .seconds(30))
        let (held, release) = await Self.holdOnlyConnection(pool)
        let waiters = (0..<3).map { _ in Task { try await pool.query("SELECT 1") } }
        while pool.waitingCount < 3 { await Task.yield() }
        let shutdown = Task { await pool.shutdown() }
        for waiter in waiters {
            let error = try await #require(throws: PostgresError.self) { try await waiter.value }
            #expect(error.kind == .shutdown)
            #expect(error.serverMessage.contains("shut down"))
        }
        // New callers are refused the same way.
        let late = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(late.kind == .shutdown)
        release.finish()
        try await held.value
        await shutdown.value
    }

    @Test("after 0A000 (plan invalidated) statements are prepared again under new names and the connection recovers")
    func statementNamesAfterInvalidation() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let pool = PostgresConnectionPool(configuration: database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await pool.shutdown() } }
        try await pool.withConnection { connection in
            try await pool.unsafeExecute("CREATE TABLE t (a int); INSERT INTO t VALUES (1)", on: connection)
            #expect(try await pool.query("SELECT * FROM t", on: connection).count == 1)  // prepared as s0
            try await pool.unsafeExecute("ALTER TABLE t ADD COLUMN b int", on: connection)
            // The server keeps s0 but refuses to run it: "cached plan must not change result type".
            let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT * FROM t", on: connection) }
            #expect(error.sqlState == "0A000")
            // Both statements are prepared again; reusing the name s0 would fail with 42P05 here.
            #expect(try await pool.query("SELECT * FROM t", on: connection).count == 1)
            #expect(try await pool.query("SELECT a FROM t WHERE a = \(1)", on: connection).count == 1)
            let names = try await pool.query("SELECT count(*)::int FROM pg_prepared_statements", on: connection)
            #expect(try names.first!.decode(Int.self, at: 0) >= 3)
        }
    }

    @Test("statements of one connection shared by two tasks are serialised, not interleaved")
    func concurrentUseIsSerialised() async throws {
        let pool = try await BindRoundTripTests.pool(size: 2)
        defer { Task { await pool.shutdown() } }
        try await pool.withConnection { connection in
            // Misuse on purpose: two tasks on one connection. Each statement must still get its own answer.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<2 {
                    group.addTask {
                        for round in 0..<200 {
                            let value = worker * 1000 + round
                            let rows = try await pool.query("SELECT \(value)::int", on: connection)
                            #expect(try rows.first!.decode(Int.self, at: 0) == value)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
