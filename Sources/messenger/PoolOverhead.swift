import ArgumentParser
import Foundation
import Logging
import PostgresLibPQ

/// `messenger pool-overhead`: what the pool (non-blocking libpq and its poller thread) costs per query, measured
/// against raw blocking libpq on the same database: `SELECT 1` round trips per second on one connection called
/// directly, then through the pool, then through the pool from many tasks at once.
struct PoolOverhead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool-overhead",
        abstract: "Measure the connection pool's per-query overhead against raw libpq (SELECT 1 round trips)."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Round trips per measurement.")
    var queries: Int = 20_000

    @Option(help: "Concurrent tasks for the concurrent measurement (also the pool size).")
    var concurrency: Int = 8

    func run() async throws {
        var logger = Logger(label: "messenger")
        logger.logLevel = .warning
        let (configuration, stopDatabase) = try self.database.open(logger: logger)
        defer { stopDatabase() }

        let query: PostgresQuery = "SELECT 1"
        let raw = try PostgresConnection(configuration: configuration, logger: logger)
        try raw.query(query)
        var start = ContinuousClock.now
        for _ in 0..<self.queries { try raw.query(query) }
        let rawRate = Double(self.queries) / (ContinuousClock.now - start).seconds
        raw.close()

        let pool = PostgresConnectionPool(configuration: configuration, maximumConnections: self.concurrency, logger: logger)
        try await pool.query(query)
        start = ContinuousClock.now
        for _ in 0..<self.queries { try await pool.query(query) }
        let poolRate = Double(self.queries) / (ContinuousClock.now - start).seconds

        let perTask = self.queries / self.concurrency
        start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<self.concurrency {
                group.addTask { for _ in 0..<perTask { try await pool.query(query) } }
            }
            try await group.waitForAll()
        }
        let concurrentRate = Double(perTask * self.concurrency) / (ContinuousClock.now - start).seconds
        await pool.shutdown()

        let overhead = (1 / poolRate - 1 / rawRate) * 1_000_000
        print("SELECT 1, prepared, \(self.queries) round trips")
        print(String(format: "  raw libpq, 1 connection, calling thread : %8.0f /s  (%.1f µs each)", rawRate, 1_000_000 / rawRate))
        print(String(format: "  pool, 1 task                            : %8.0f /s  (%.1f µs each)", poolRate, 1_000_000 / poolRate))
        print(String(format: "  pool, %2d tasks                           : %8.0f /s", self.concurrency, concurrentRate))
        print(
            String(format: "  pool overhead per query                 : %8.1f µs (%.0f%% of the raw rate kept)", overhead, 100 * poolRate / rawRate))
    }
}

extension Duration {
    var seconds: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}
