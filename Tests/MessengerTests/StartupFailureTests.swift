import Foundation
import Logging
import MessengerApp
import PostgresLibPQ
import PostgresTestSupport
import ServiceLifecycle
import Testing

/// Every start-up failure of the real executable: exit status 1 within 5 s, and as the last line of output one
/// `messenger: …` line that says what to do.
@Suite("Start-up failures of the messenger executable", .serialized)
struct StartupFailureTests {
    static let schema = TestServer.schema.path
    static let key = ["JWT_KEY": "startup-test-key-0123456789-0123456789"]

    /// A fresh folder under /tmp for one test.
    static func folder(_ name: String) throws -> URL {
        let url = URL(fileURLWithPath: "/tmp/messenger-startup-\(getpid())-\(name)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func conninfo(_ configuration: PostgresConfiguration) -> String {
        configuration.parameters.map { "\($0.0)='\($0.1)'" }.joined(separator: " ")
    }

    /// Runs `serve` with `arguments` (plus a free port unless given) and checks the common contract.
    static func expectFailure(
        _ arguments: [String],
        environment: [String: String] = Self.key,
        saying fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let exit = try await ServerProcess.runToExit(["serve", "--log-level", "warning"] + arguments, environment: environment)
        #expect(exit.status == 1, "exit status \(exit.status); output:\n\(exit.output)", sourceLocation: sourceLocation)
        #expect(exit.elapsed < .seconds(5), "took \(exit.elapsed)", sourceLocation: sourceLocation)
        #expect(exit.lastLine.hasPrefix("messenger: "), "last line: \(exit.lastLine)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(exit.lastLine.contains(fragment), "'\(fragment)' not in: \(exit.lastLine)", sourceLocation: sourceLocation)
        }
        // One line: nothing else at error level explains (or muddles) it.
        let messengerLines = exit.output.split(separator: "\n").filter { $0.hasPrefix("messenger: ") }
        #expect(messengerLines.count == 1, "output:\n\(exit.output)", sourceLocation: sourceLocation)
    }

    @Test("port in use: names the address and suggests --port")
    func portInUse() async throws {
        let occupied = try OccupiedPort()
        let database = try await TestCluster.shared.freshDatabase()
        try await Self.expectFailure(
            ["--port", String(occupied.port), "--database-url", Self.conninfo(database), "--schema-dir", Self.schema],
            saying: ["127.0.0.1:\(occupied.port)", "already in use", "--port"]
        )
    }

    @Test("PostgreSQL unreachable: says so and points at DATABASE_URL")
    func databaseUnreachable() async throws {
        try await Self.expectFailure(
            ["--port", "0", "--database-url", "host=127.0.0.1 port=1 user=nobody dbname=nothing", "--schema-dir", Self.schema],
            saying: ["cannot connect to PostgreSQL", "Connection refused", "DATABASE_URL"]
        )
    }

    @Test("wrong credentials: the server's refusal, DATABASE_URL without its password")
    func wrongCredentials() async throws {
        var database = try await TestCluster.shared.freshDatabase()
        database.parameters.append(("user", "no_such_role"))
        database.parameters.append(("password", "s3cret-password"))
        let exit = try await ServerProcess.runToExit(
            ["serve", "--port", "0", "--database-url", Self.conninfo(database), "--schema-dir", Self.schema],
            environment: Self.key
        )
        #expect(exit.status == 1)
        #expect(exit.elapsed < .seconds(5))
        #expect(exit.lastLine.contains("cannot connect to PostgreSQL"), "\(exit.lastLine)")
        #expect(exit.lastLine.contains("no_such_role"), "\(exit.lastLine)")
        #expect(exit.lastLine.contains("DATABASE_URL"))
        #expect(!exit.output.contains("s3cret-password"), "the password was printed:\n\(exit.output)")
    }

    @Test("PostgreSQL not installed: says how to install it")
    func postgresNotInstalled() async throws {
        let data = try Self.folder("data")
        let empty = try Self.folder("bin")
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: empty)
        }
        try await Self.expectFailure(
            ["--port", "0", "--data-dir", data.path, "--schema-dir", Self.schema],
            environment: Self.key.merging(["MESSENGER_PG_BINDIR": empty.path]) { $1 },
            saying: ["PostgreSQL is not installed", "apt-get install -y postgresql", "DATABASE_URL"]
        )
    }

    @Test("data folder not writable: names it and suggests --data-dir")
    func dataFolderNotWritable() async throws {
        let parent = try Self.folder("file")
        defer { try? FileManager.default.removeItem(at: parent) }
        // A regular file where a folder should be: even root cannot create the data folder under it.
        let file = parent.appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: file)
        try await Self.expectFailure(
            ["--port", "0", "--data-dir", file.appendingPathComponent("data").path, "--schema-dir", Self.schema],
            saying: ["data folder", file.appendingPathComponent("data").path, "--data-dir"]
        )
    }

    @Test("schema folder missing: names it and suggests --schema-dir")
    func schemaFolderMissing() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        try await Self.expectFailure(
            ["--port", "0", "--database-url", Self.conninfo(database), "--schema-dir", "/nonexistent/schema"],
            saying: ["schema folder /nonexistent/schema does not exist", "--schema-dir"]
        )
    }

    @Test("a failing migration: names the file and the server's reason; nothing is applied")
    func failingMigration() async throws {
        let schema = try Self.folder("schema")
        defer { try? FileManager.default.removeItem(at: schema) }
        try Data("CREATE TABLE fine (id int);".utf8).write(to: schema.appendingPathComponent("0001_fine.sql"))
        try Data("CREATE TABLE broken (id int,);".utf8).write(to: schema.appendingPathComponent("0002_broken.sql"))
        let database = try await TestCluster.shared.freshDatabase()
        try await Self.expectFailure(
            ["--port", "0", "--database-url", Self.conninfo(database), "--schema-dir", schema.path],
            saying: ["migration 2 (broken) failed", "syntax error", "fix that migration"]
        )
        let connection = try PostgresConnection(configuration: database, logger: TestCluster.logger)
        defer { connection.close() }
        let versions = try connection.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.decode(Int.self, at: 0) }
        #expect(versions == [1])
    }

    @Test("unreadable web folder: names it and suggests --web-dir")
    func webFolderUnreadable() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let web = try Self.folder("web")
        defer { try? FileManager.default.removeItem(at: web) }
        // A folder without index.html cannot serve the app.
        try await Self.expectFailure(
            ["--port", "0", "--database-url", Self.conninfo(database), "--schema-dir", Self.schema, "--web-dir", web.path],
            saying: ["web folder \(web.path) cannot be read", "--web-dir"]
        )
    }

    @Test("JWT_KEY shorter than 32 bytes is refused")
    func shortKey() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        try await Self.expectFailure(
            ["--port", "0", "--database-url", Self.conninfo(database), "--schema-dir", Self.schema],
            environment: ["JWT_KEY": "too-short"],
            saying: ["JWT_KEY is 9 bytes", "at least 32", "openssl rand"]
        )
    }

    @Test(
        "the HTTP server failing to bind ends the service group promptly (listener and all honour cancellation)",
        .timeLimit(.minutes(1))
    )
    func bindFailureEndsTheGroup() async throws {
        let occupied = try OccupiedPort()
        var configuration = AppConfiguration()
        configuration.port = occupied.port
        configuration.jwtKey = Array("test-key-0123456789-0123456789-0123456789".utf8)
        configuration.databasePoolSize = 2
        let database = try await TestCluster.shared.freshDatabase()
        let server = try await MessengerServer.build(
            configuration: configuration,
            database: database,
            migrationsDirectory: TestServer.schema,
            logger: TestCluster.logger
        )
        let start = ContinuousClock.now
        let group = ServiceGroup(configuration: .init(services: server.services, logger: TestCluster.logger))
        await #expect(throws: (any Error).self) { try await group.run() }
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
