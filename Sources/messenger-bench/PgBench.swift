import Foundation

/// The raw-INSERT baseline: pgbench with a custom one-INSERT script against the server's own database.
struct PgBench: Sendable {
    /// Connection arguments for pgbench: a URL, or whatever `--pgbench-args` says.
    let connectionArgs: [String]
    let executable: String

    static func find() -> String? {
        var candidates = ["/usr/bin/pgbench", "/usr/local/bin/pgbench", "/opt/homebrew/bin/pgbench"]
        for version in ["17", "16", "15", "14"] { candidates.append("/usr/lib/postgresql/\(version)/bin/pgbench") }
        if let path = ProcessInfo.processInfo.environment["PATH"] {
            candidates.insert(contentsOf: path.split(separator: ":").map { "\($0)/pgbench" }, at: 0)
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let createSQL = """
        CREATE TABLE IF NOT EXISTS bench_raw(id bigserial primary key, conversation_id bigint, user_id bigint, \
        content text, created_at timestamptz default now());

        """

    /// One row per transaction, with a content of about the bench's message size.
    static let insertSQL = """
        \\set cid random(1, 100000)
        \\set uid random(1, 100000)
        INSERT INTO bench_raw (conversation_id, user_id, content) VALUES (:cid, :uid, 'm bench raw ' || :cid);

        """

    static let dropSQL = "DROP TABLE IF EXISTS bench_raw;\n"

    struct Result: Sendable {
        let tps: Double
        let output: String
    }

    /// Creates the table, runs `clients` clients for `seconds`, drops the table. Returns transactions/s.
    func run(clients: Int, seconds: Int) async throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("messenger-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let create = dir.appendingPathComponent("create.sql")
        let insert = dir.appendingPathComponent("insert.sql")
        let drop = dir.appendingPathComponent("drop.sql")
        try Self.createSQL.write(to: create, atomically: true, encoding: .utf8)
        try Self.insertSQL.write(to: insert, atomically: true, encoding: .utf8)
        try Self.dropSQL.write(to: drop, atomically: true, encoding: .utf8)

        let setup = try await runProcess(["-n", "-f", create.path, "-t", "1", "-c", "1"] + connectionArgs)
        guard setup.status == 0 else { throw BenchError("pgbench (create table) failed: \(setup.output.suffix(400))") }
        let c = max(1, clients)
        let result = try await runProcess(
            ["-n", "-f", insert.path, "-c", "\(c)", "-j", "\(c)", "-T", "\(max(1, seconds))"] + connectionArgs)
        // Leave the server's database as we found it.
        _ = try? await runProcess(["-n", "-f", drop.path, "-t", "1", "-c", "1"] + connectionArgs)
        guard result.status == 0 else { throw BenchError("pgbench failed: \(result.output.suffix(400))") }
        // "tps = 12345.678901 (without initial connection time)"
        for line in result.output.split(separator: "\n") where line.hasPrefix("tps = ") {
            let number = line.dropFirst("tps = ".count).split(separator: " ").first.flatMap { Double($0) }
            if let number { return Result(tps: number, output: result.output) }
        }
        throw BenchError("could not find tps in pgbench output: \(result.output.suffix(400))")
    }

    /// Starts, in the background, a transaction outside the application that takes a transaction id and then sits
    /// idle for `seconds` (like a forgotten `BEGIN; INSERT …` in psql). Returns its pid; SIGTERM ends it early.
    func holdForeignTransaction(seconds: Int) throws -> pid_t {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("messenger-bench-foreign-\(UUID().uuidString).sql")
        try """
        BEGIN;
        CREATE TEMP TABLE bench_foreign (x int);
        INSERT INTO bench_foreign VALUES (1);
        SELECT pg_sleep(\(seconds));
        ROLLBACK;

        """.write(to: script, atomically: true, encoding: .utf8)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("messenger-bench-foreign.log").path
        return try spawn(executable, ["-n", "-f", script.path, "-t", "1", "-c", "1"] + connectionArgs, outputPath: output)
    }

    /// Runs pgbench with output captured in a file. Spawned with posix_spawn and an empty signal mask: threads of
    /// this process block signals, and Foundation's Process would pass that mask on, so pgbench's -T timer
    /// (SIGALRM) would never fire.
    private func runProcess(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("messenger-bench-pgbench-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let pid = try spawn(executable, arguments, outputPath: outputPath)
        let status: Int32 = await withCheckedContinuation { continuation in
            let waiter = Thread {
                var raw: Int32 = 0
                while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
                // WIFEXITED / WEXITSTATUS
                continuation.resume(returning: (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f))
            }
            waiter.start()
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (status, output)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

private func spawn(_ executable: String, _ arguments: [String], outputPath: String) throws -> pid_t {
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attr, &mask)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in [SIGALRM, SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, sig) }
    posix_spawnattr_setsigdefault(&attr, &defaults)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)

    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, &attr, argv, environ)
    guard rc == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(rc)))") }
    return pid
}
