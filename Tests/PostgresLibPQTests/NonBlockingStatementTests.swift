import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

/// The pool's statements go through libpq's non-blocking API and one poller thread (`PostgresSocketPoller`).
@Suite("Non-blocking statements")
struct NonBlockingStatementTests {
    /// Counts this database's backends waiting for an advisory lock, on `connection`.
    static func advisoryWaiters(_ pool: PostgresConnectionPool, on connection: PostgresConnection) async throws -> Int {
        let rows = try await pool.query(
            "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'",
            on: connection
        )
        return try rows.first!.decode(Int.self, at: 0)
    }

    /// Polls until `count` backends wait for the advisory lock, or 20 s pass; returns the last count seen.
    static func waitForAdvisoryWaiters(_ count: Int, _ pool: PostgresConnectionPool, on connection: PostgresConnection) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(20)
        var seen = try await Self.advisoryWaiters(pool, on: connection)
        while seen < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            seen = try await Self.advisoryWaiters(pool, on: connection)
        }
        return seen
    }

    /// Runs `work` in a task of its own and returns how it ended, or nil when it has not ended within `limit`. The
    /// task is then left behind: a statement stuck on its socket does not answer cancellation, and the test must fail,
    /// not hang.
    static func outcome<T: Sendable>(within limit: Duration, of work: @escaping @Sendable () async throws -> T) async -> Result<T, any Error>? {
        let (ends, end) = AsyncStream<Result<T, any Error>?>.makeStream()
        Task {
            do { end.yield(.success(try await work())) } catch { end.yield(.failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            end.yield(nil)
        }
        for await first in ends {
            timer.cancel()
            end.finish()
            return first
        }
        return nil
    }

    @Test("statements wait for their answers without holding a thread: twelve are at the server at once with four threads")
    func statementsInFlightHoldNoThread() async throws {
        // The pool keeps min(connections, 4) threads for connecting; a statement that held one while waiting would
        // leave at most four of the twelve at the server (and two would exhaust the cooperative pool here).
        let waiting = 12
        let pool = try await BindRoundTripTests.pool(size: waiting + 1)
        defer { Task { await pool.shutdown() } }
        try await pool.withConnection { holder in
            try await pool.query("SELECT pg_advisory_lock(7)", on: holder)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<waiting {
                    group.addTask {
                        let rows = try await pool.query("SELECT \(index)::int FROM pg_advisory_lock_shared(7), pg_advisory_unlock_shared(7)")
                        return try rows.first!.decode(Int.self, at: 0)
                    }
                }
                #expect(try await Self.waitForAdvisoryWaiters(waiting, pool, on: holder) == waiting)
                try await pool.query("SELECT pg_advisory_unlock(7)", on: holder)
                var answers: [Int] = []
                for try await answer in group { answers.append(answer) }
                #expect(answers.sorted() == Array(0..<waiting))
            }
        }
    }

    @Test("a statement larger than the socket's buffers is sent whole, and a larger answer is read whole")
    func largeStatementAndAnswer() async throws {
        let pool = try await BindRoundTripTests.pool(size: 1)
        defer { Task { await pool.shutdown() } }
        // 2 MiB out (ten times the socket's 208 KiB send buffer: libpq must flush it in pieces as the server reads),
        // 4 MiB back (many reads). Kept this small because the suite runs in parallel on two cores.
        let sent = String(repeating: "abcdefgh", count: 1 << 18)
        let outcome = await Self.outcome(within: .seconds(30)) {
            try await pool.query("SELECT length(\(sent)::text), repeat('x', 4 * 1024 * 1024), md5(\(sent)::text)")
        }
        let answer = try #require(outcome, "no answer within 30 s")
        let row = try #require(try answer.get().first)
        #expect(try row.decode(Int.self, at: 0) == sent.utf8.count)
        #expect(try row.decode(String.self, at: 1).utf8.count == 4 * 1024 * 1024)
        let expected = try await pool.query("SELECT md5(repeat('abcdefgh', 262144))").first!.decode(String.self, at: 0)
        #expect(try row.decode(String.self, at: 2) == expected)
        // The connection is in step afterwards: the next statement gets its own answer.
        #expect(try await pool.query("SELECT 41 + 1").first!.decode(Int.self, at: 0) == 42)
    }

    @Test("shutting the pool down fails a statement still waiting for its answer instead of hanging")
    func shutdownFailsStatementInFlight() async throws {
        let pool = try await BindRoundTripTests.pool(size: 2)
        try await pool.withConnection { holder in
            try await pool.query("SELECT pg_advisory_lock(8)", on: holder)
            let stuck = Task { try await pool.query("SELECT pg_advisory_lock_shared(8)") }
            #expect(try await Self.waitForAdvisoryWaiters(1, pool, on: holder) == 1)
            await pool.shutdown()
            let outcome = await Self.outcome(within: .seconds(20)) { try await stuck.value }
            let ended = try #require(outcome, "still waiting 20 s after the shutdown")
            let error = #expect(throws: PostgresError.self) { try ended.get() }
            #expect(error?.kind == .shutdown)
        }
    }
}
