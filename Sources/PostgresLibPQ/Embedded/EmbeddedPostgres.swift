import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A private PostgreSQL cluster inside a data folder: created with `initdb` on first use, started on a Unix socket
/// inside that folder (no TCP port to collide with), stopped when we stop, reused next time.
///
/// PostgreSQL refuses to run as root; when we are root the cluster is owned by and run as an unprivileged user
/// (`postgres` by default, created by Debian's package).
public struct EmbeddedPostgres: Sendable {
    public enum EmbeddedError: Error, CustomStringConvertible {
        case notInstalled
        case commandFailed(String, status: Int32, output: String)
        case noUnprivilegedUser(String)
        case pathNotAccessible(String, user: String)

        public var description: String {
            switch self {
            case .notInstalled:
                "PostgreSQL server binaries not found: install them with `apt-get install -y postgresql` (or set DATABASE_URL)"
            case .commandFailed(let command, let status, let output):
                "\(command) failed with status \(status): \(output.suffix(2000))"
            case .noUnprivilegedUser(let user):
                "running as root but there is no '\(user)' user to run PostgreSQL as (apt-get install -y postgresql creates it)"
            case .pathNotAccessible(let path, let user):
                "PostgreSQL runs as '\(user)', who cannot reach \(path): choose a data folder whose parents are world-searchable (chmod o+x) with --data-dir"
            }
        }
    }

    /// The folder holding everything (`pgdata/` inside it).
    public let dataDirectory: URL
    public let database: String
    public let port: Int
    let logger: Logger
    /// The OS user that runs PostgreSQL when we are root.
    public let systemUser: String
    /// `max_connections`, written when the cluster is created (an existing cluster keeps its own).
    public let maxConnections: Int

    public init(
        dataDirectory: URL,
        database: String = "messenger",
        port: Int = 5432,
        systemUser: String = "postgres",
        maxConnections: Int = 400,
        logger: Logger
    ) {
        self.dataDirectory = dataDirectory.standardizedFileURL
        self.database = database
        self.port = port
        self.systemUser = systemUser
        self.maxConnections = maxConnections
        self.logger = logger
    }

    var clusterDirectory: URL { self.dataDirectory.appendingPathComponent("pgdata") }
    var socketDirectory: String { self.clusterDirectory.path }
    var isRoot: Bool { geteuid() == 0 }
    /// The database role: the OS user that ran `initdb`.
    var role: String { self.isRoot ? self.systemUser : (ProcessInfo.processInfo.environment["USER"] ?? Self.currentUserName()) }

    /// Connection settings for the cluster's database.
    public var configuration: PostgresConfiguration {
        .unixSocket(directory: self.socketDirectory, port: self.port, user: self.role, database: self.database)
    }

    /// Creates the cluster if needed and starts it unless it is already running.
    /// - Returns: true when this call started the server (and so should stop it).
    @discardableResult
    public func start() throws -> Bool {
        let binaries = try Self.findBinaries()
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: self.dataDirectory, withIntermediateDirectories: true)
        if self.isRoot {
            guard getpwnam(self.systemUser) != nil else { throw EmbeddedError.noUnprivilegedUser(self.systemUser) }
            // The postgres user must be able to reach the folder.
            chmod(self.dataDirectory.path, 0o755)
            try self.checkReachable(self.dataDirectory.path)
        }
        if !fileManager.fileExists(atPath: self.clusterDirectory.appendingPathComponent("PG_VERSION").path) {
            try self.initialize(binaries: binaries)
        }
        let pgCtl = binaries.appendingPathComponent("pg_ctl")
        let status = try? self.run(pgCtl, ["status", "-D", self.clusterDirectory.path])
        var started = false
        if status == nil {
            self.logger.info("starting embedded PostgreSQL", metadata: ["data": "\(self.clusterDirectory.path)"])
            try self.run(
                pgCtl,
                ["start", "-w", "-t", "60", "-D", self.clusterDirectory.path, "-l", self.clusterDirectory.appendingPathComponent("server.log").path]
            )
            started = true
        }
        try self.createDatabaseIfNeeded(binaries: binaries)
        return started
    }

    /// Stops the cluster (fast shutdown: open sessions are ended, data is safe).
    public func stop() throws {
        let binaries = try Self.findBinaries()
        self.logger.info("stopping embedded PostgreSQL")
        try self.run(binaries.appendingPathComponent("pg_ctl"), ["stop", "-w", "-m", "fast", "-D", self.clusterDirectory.path])
    }

    /// Stops the cluster at once without a checkpoint, as a crash would (for tests of recovery).
    public func kill() throws {
        let binaries = try Self.findBinaries()
        try self.run(binaries.appendingPathComponent("pg_ctl"), ["stop", "-w", "-m", "immediate", "-D", self.clusterDirectory.path])
    }

    private func initialize(binaries: URL) throws {
        self.logger.info("creating embedded PostgreSQL cluster", metadata: ["data": "\(self.clusterDirectory.path)"])
        let fileManager = FileManager.default
        try? fileManager.removeItem(at: self.clusterDirectory)
        try fileManager.createDirectory(at: self.clusterDirectory, withIntermediateDirectories: true)
        if self.isRoot {
            try self.chownToSystemUser(self.clusterDirectory.path)
        }
        chmod(self.clusterDirectory.path, 0o700)
        try self.run(
            binaries.appendingPathComponent("initdb"),
            ["-D", self.clusterDirectory.path, "-U", self.role, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"]
        )
        // Only a Unix socket inside the cluster folder, reachable by its owner (and root) alone.
        let settings = """

            # messenger embedded settings
            listen_addresses = ''
            unix_socket_directories = '\(self.socketDirectory.replacingOccurrences(of: "'", with: "''"))'
            unix_socket_permissions = 0700
            port = \(self.port)
            max_connections = \(self.maxConnections)
            shared_buffers = 256MB
            synchronous_commit = on
            log_min_messages = warning

            """
        let conf = self.clusterDirectory.appendingPathComponent("postgresql.conf")
        let handle = try FileHandle(forWritingTo: conf)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
        try handle.close()
    }

    private func createDatabaseIfNeeded(binaries: URL) throws {
        let psql = binaries.appendingPathComponent("psql")
        let args = ["-h", self.socketDirectory, "-p", String(self.port), "-U", self.role, "-d", "postgres", "-tAc"]
        let exists = try self.run(psql, args + ["SELECT 1 FROM pg_database WHERE datname = '\(self.database)'"])
        if !Self.hasRowOne(exists) {
            try self.run(psql, args + ["CREATE DATABASE \"\(self.database)\""])
        }
    }

    /// Whether psql's `-tA` output holds the row `1`. The output includes psql's standard error, which can hold a
    /// warning such as `could not change directory to "/tmp/ci31.x"` (run as the `postgres` user from a folder it
    /// cannot enter): a whole line, never a substring, or a `1` in the folder's name skips `CREATE DATABASE`.
    static func hasRowOne(_ output: String) -> Bool {
        output.split(whereSeparator: \.isNewline).contains { $0.trimmingCharacters(in: .whitespaces) == "1" }
    }

    @discardableResult
    private func run(_ executable: URL, _ arguments: [String]) throws -> String {
        let command = self.isRoot ? ["/usr/sbin/runuser", "-u", self.systemUser, "--", executable.path] + arguments : [executable.path] + arguments
        do {
            return try ChildProcess.run(command)
        } catch let failure as ChildProcess.Failure {
            throw EmbeddedError.commandFailed(
                ([executable.lastPathComponent] + arguments.prefix(2)).joined(separator: " "),
                status: failure.status,
                output: failure.output
            )
        }
    }

    private func chownToSystemUser(_ path: String) throws {
        guard let user = getpwnam(self.systemUser) else { throw EmbeddedError.noUnprivilegedUser(self.systemUser) }
        chown(path, user.pointee.pw_uid, user.pointee.pw_gid)
    }

    private func checkReachable(_ path: String) throws {
        do {
            try ChildProcess.run(["/usr/sbin/runuser", "-u", self.systemUser, "--", "/usr/bin/test", "-x", path])
        } catch {
            throw EmbeddedError.pathNotAccessible(path, user: self.systemUser)
        }
    }

    /// The server's binaries: `MESSENGER_PG_BINDIR` when set (a PostgreSQL installed elsewhere), else
    /// `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`.
    static func findBinaries() throws -> URL {
        let fileManager = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["MESSENGER_PG_BINDIR"], !explicit.isEmpty {
            guard fileManager.isExecutableFile(atPath: explicit + "/initdb") else { throw EmbeddedError.notInstalled }
            return URL(fileURLWithPath: explicit)
        }
        var candidates: [String] = []
        if let bindir = try? Self.capture("/usr/bin/pg_config", ["--bindir"]) {
            candidates.append(bindir.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if let versions = try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            let sorted = versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
            candidates += sorted.map { "/usr/lib/postgresql/\($0)/bin" }
        }
        for candidate in candidates where fileManager.isExecutableFile(atPath: candidate + "/initdb") {
            return URL(fileURLWithPath: candidate)
        }
        throw EmbeddedError.notInstalled
    }

    private static func capture(_ path: String, _ arguments: [String]) throws -> String {
        try ChildProcess.run([path] + arguments)
    }

    private static func currentUserName() -> String {
        guard let entry = getpwuid(geteuid()) else { return "postgres" }
        return String(cString: entry.pointee.pw_name)
    }
}
