import Foundation
import Logging
import NIOPosix
import PostgresLibPQ

/// A private PostgreSQL cluster for the test process, started through ``EmbeddedPostgres`` (so that path is
/// exercised too). Each caller gets its own fresh database.
public actor TestCluster {
    public static let shared = TestCluster()

    private var cluster: Task<EmbeddedPostgres, any Error>?
    private var counter = 0

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    /// A new empty database on the shared cluster.
    public func freshDatabase() async throws -> PostgresConfiguration {
        let cluster = try await self.start()
        self.counter += 1
        let name = "t\(getpid())_\(self.counter)"
        let admin = cluster.configuration.withDatabase("postgres")
        try await Self.offPool {
            let connection = try PostgresConnection(configuration: admin, logger: Self.logger)
            try connection.unsafeExecute("CREATE DATABASE \(name)")
            connection.close()
        }
        return cluster.configuration.withDatabase(name)
    }

    private func start() async throws -> EmbeddedPostgres {
        if let cluster { return try await cluster.value }
        // One start, however many tests ask at once (the actor is reentrant across the await).
        let task = Task<EmbeddedPostgres, any Error> {
            // Every suite runs in parallel against this one cluster, each server with its pool (16) plus listener and
            // notifier: a full run peaked at 340 client connections (2026-11-26), close enough to the default 400
            // that a slower machine's overlap refused connections ("PostgreSQL connection error" in a test that
            // had nothing to do with it).
            let cluster = try Self.makeCluster(name: "shared", maxConnections: 1_000)
            try await Self.offPool { _ = try cluster.start() }
            atexit {
                try? TestCluster.stopAll()
            }
            return cluster
        }
        self.cluster = task
        return try await task.value
    }

    /// Runs blocking work (initdb, pg_ctl, a libpq connect, CREATE DATABASE) on a thread pool. Tests run in
    /// parallel with servers in this very process: blocking one of the few cooperative threads for a second would
    /// stall those servers and make their timing fail for reasons that have nothing to do with them.
    ///
    /// Its own pool, wider than the machine's cores: the work waits on PostgreSQL, not the CPU, and with the
    /// singleton's two threads a test's quick look at a table queued behind every other test's CREATE DATABASE
    /// (seconds at the start of a full parallel run), which broke tests whose timing is the point.
    ///
    /// A ``PostgresError`` comes out as ``PostgresTestError``, which prints the server's (or libpq's) message: the
    /// error's own description is generic by design (it must never reach an HTTP client), so a failed test would
    /// only say "PostgreSQL connection error" and not why.
    public static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await Self.blockingThreads.runIfActive(body)
        } catch let error as PostgresError {
            throw PostgresTestError(error: error)
        }
    }

    private static let blockingThreads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 12)
        pool.start()
        return pool
    }()

    /// A separate cluster for tests that stop or kill PostgreSQL.
    public static func makeCluster(name: String, port: Int = 5432, maxConnections: Int = 400) throws -> EmbeddedPostgres {
        let directory = URL(fileURLWithPath: "/tmp/messenger-tests-\(getpid())/\(name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod("/tmp/messenger-tests-\(getpid())", 0o755)
        return EmbeddedPostgres(dataDirectory: directory, port: port, maxConnections: maxConnections, logger: Self.logger)
    }

    /// Stops every cluster this process started and removes their folders.
    public nonisolated static func stopAll() throws {
        let root = "/tmp/messenger-tests-\(getpid())"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
        for name in names {
            let cluster = EmbeddedPostgres(dataDirectory: URL(fileURLWithPath: root + "/" + name), logger: Self.logger)
            try? cluster.kill()
        }
        try? FileManager.default.removeItem(atPath: root)
    }
}
