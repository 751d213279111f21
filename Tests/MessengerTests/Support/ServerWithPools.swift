import Foundation
import PostgresLibPQ
import PostgresTestSupport

/// A live server plus pools of the test's own on the server's database, for tests that race the server from SQL
/// (hold a row lock, delete under a send) or look at what it stored.
struct ServerWithPools {
    let server: TestServer
    let api: APIClient
    /// One pool per requested size, in order.
    let pools: [PostgresConnectionPool]

    static func start(poolSizes: [Int]) async throws -> ServerWithPools {
        let server = try await TestServer.start()
        let pools = poolSizes.map {
            PostgresConnectionPool(configuration: server.database, maximumConnections: $0, logger: TestCluster.logger)
        }
        return ServerWithPools(server: server, api: APIClient(baseURL: server.baseURL), pools: pools)
    }

    func stop() async {
        for pool in self.pools { await pool.shutdown() }
        await self.server.stop()
    }

    /// The single `bigint` a query answers (a count).
    static func count(_ pool: PostgresConnectionPool, _ query: PostgresQuery) async throws -> Int64 {
        try await pool.query(query).first!.decode(Int64.self, at: 0)
    }

    /// How often each statement prepared on `pool`'s connection whose text holds `marker` was planned generically and
    /// with its own values (`pg_prepared_statements`; give the pool one connection to see the one the reads used).
    static func preparedPlans(_ pool: PostgresConnectionPool, containing marker: String) async throws -> [(generic: Int64, custom: Int64)] {
        try await pool.query(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE strpos(statement, \(marker)) > 0"
        ).map { try $0.decode((Int64, Int64).self) }
    }

    /// Statements of this database waiting for a lock now.
    static func lockWaits(_ observer: PostgresConnectionPool) async throws -> Int64 {
        try await self.count(
            observer, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    }

    /// Waits until `observer`'s connection is the only client of this database (the server's have closed; a backend
    /// leaves `pg_stat_activity` after flushing its statistics), or 20 s have passed (an error).
    static func untilAlone(_ observer: PostgresConnectionPool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await self.count(
            observer,
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
            """
        ) > 0 {
            guard ContinuousClock.now < deadline else { throw TestFailure("other connections to the database did not close") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until at least `count` statements of this database wait for a lock, or `done` is set (then they did not
    /// have to wait), or 20 s have passed (an error).
    static func untilLockWaits(_ observer: PostgresConnectionPool, count: Int = 1, unless done: Finished? = nil) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await self.lockWaits(observer) < count {
            if done?.isSet == true { return }
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(count) lock waits") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
