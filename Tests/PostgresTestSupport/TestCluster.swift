import Foundation
import Logging
import PostgresLibPQ

/// A private PostgreSQL cluster for the test process, started through ``EmbeddedPostgres`` (so that path is
/// exercised too). Each caller gets its own fresh database.
public actor TestCluster {
    public static let shared = TestCluster()

    private var cluster: EmbeddedPostgres?
    private var counter = 0

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    /// A new empty database on the shared cluster.
    public func freshDatabase() async throws -> PostgresConfiguration {
        let cluster = try self.start()
        self.counter += 1
        let name = "t\(getpid())_\(self.counter)"
        let admin = try PostgresConnection(configuration: cluster.configuration.withDatabase("postgres"), logger: Self.logger)
        try admin.unsafeExecute("CREATE DATABASE \(name)")
        admin.close()
        return cluster.configuration.withDatabase(name)
    }

    private func start() throws -> EmbeddedPostgres {
        if let cluster { return cluster }
        let cluster = try Self.makeCluster(name: "shared")
        try cluster.start()
        self.cluster = cluster
        atexit {
            try? TestCluster.stopAll()
        }
        return cluster
    }

    /// A separate cluster for tests that stop or kill PostgreSQL.
    public static func makeCluster(name: String, port: Int = 5432) throws -> EmbeddedPostgres {
        let directory = URL(fileURLWithPath: "/tmp/messenger-tests-\(getpid())/\(name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod("/tmp/messenger-tests-\(getpid())", 0o755)
        return EmbeddedPostgres(dataDirectory: directory, port: port, logger: Self.logger)
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
