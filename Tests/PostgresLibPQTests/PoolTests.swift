import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@Suite("Connection pool")
struct PoolTests {
    @Test("a transaction rolls back when its body throws, and commits otherwise")
    func transactions() async throws {
        let pool = try await BindRoundTripTests.pool()
        defer { Task { await pool.shutdown() } }
        try await pool.query("CREATE TABLE items (v int)")
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await pool.withTransaction { transaction in
                try await transaction.query("INSERT INTO items VALUES (1)")
                throw Boom()
            }
        }
        try await pool.withTransaction { transaction in
            try await transaction.query("INSERT INTO items VALUES (2)")
        }
        let rows = try await pool.query("SELECT array_agg(v)::text FROM items")
        #expect(try rows.first!.decode(String.self, at: 0) == "{2}")
    }

    @Test("an exhausted pool makes callers wait, then time out with a clear error")
    func exhaustion() async throws {
        let pool = try await BindRoundTripTests.pool(size: 1, timeout: .milliseconds(300))
        defer { Task { await pool.shutdown() } }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try await pool.withConnection { connection in
                    try await pool.query("SELECT pg_sleep(1)", on: connection)
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            #expect(error.kind == .poolTimeout)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            try await group.waitForAll()
        }
        // Once the connection is back, queries work again.
        #expect(try await pool.query("SELECT 1").count == 1)
    }

    @Test("a waiting caller gets the connection as soon as it is released")
    func waiting() async throws {
        let pool = try await BindRoundTripTests.pool(size: 2)
        defer { Task { await pool.shutdown() } }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<20 {
                group.addTask {
                    let rows = try await pool.query("SELECT \(index) + 0 FROM pg_sleep(0.01)")
                    return try rows.first!.decode(Int.self, at: 0)
                }
            }
            var sum = 0
            for try await value in group { sum += value }
            #expect(sum == (0..<20).reduce(0, +))
        }
        #expect(pool.openConnections <= 2)
    }

    @Test("a terminated backend is replaced without restarting the pool")
    func brokenConnection() async throws {
        let pool = try await BindRoundTripTests.pool(size: 1)
        defer { Task { await pool.shutdown() } }
        let pid = try await pool.query("SELECT pg_backend_pid()").first!.decode(Int32.self, at: 0)
        let admin = try await BindRoundTripTests.pool(size: 1)
        defer { Task { await admin.shutdown() } }
        try await admin.query("SELECT pg_terminate_backend(\(pid))")
        try await Task.sleep(for: .milliseconds(100))
        // The dead connection is noticed on checkout and replaced.
        let newPID = try await pool.query("SELECT pg_backend_pid()").first!.decode(Int32.self, at: 0)
        #expect(newPID != pid)
    }
}
