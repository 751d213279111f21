import Foundation
import PostgresLibPQ

#if canImport(Glibc)
    import Glibc
#endif

/// The real `messenger` executable in its own process, for multi-instance and signal tests.
final class ServerProcess: Sendable {
    let pid: pid_t
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    static let executable = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../.build/debug/messenger").standardizedFileURL.path

    /// Starts `messenger serve` on `database` (as a libpq key=value string) and waits until it is ready. Its standard
    /// output and error go to `outputPath` if given (a file, or a FIFO someone has open for reading), else to ours.
    static func start(
        database: PostgresConfiguration, extraArguments: [String] = [], logLevel: String = "warning", outputPath: String? = nil
    ) async throws -> ServerProcess {
        let port = Int.random(in: 20_000...29_999)
        let conninfo = database.parameters.map { "\($0.0)='\($0.1)'" }.joined(separator: " ")
        let arguments =
            [
                Self.executable, "serve", "--host", "127.0.0.1", "--port", String(port), "--database-url", conninfo, "--dev-login",
                "--bcrypt-cost", "4", "--log-level", logLevel,
            ] + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["JWT_KEY"] = "process-test-key-0123456789-0123456789"
        let pid = try ChildProcess.spawn(arguments, environment: environment, outputPath: outputPath)
        let server = ServerProcess(pid: pid, port: port)
        let api = APIClient(baseURL: server.baseURL)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let reply = try? await api.send(.GET, "/readyz"), reply.status == 200 { return server }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.kill()
        throw TestFailure("server process did not become ready")
    }

    /// How a run of the executable ended: its exit status (128 + signal when killed), how long it took, and
    /// everything it wrote to standard output and standard error.
    struct Exit {
        var status: Int32
        var elapsed: Duration
        var output: String

        /// The last non-empty line of the output: where a start-up failure explains itself.
        var lastLine: String {
            self.output.split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(String.init) ?? ""
        }
    }

    /// Runs `messenger <arguments>` to its end (SIGKILL after `timeout`) with `environment` added to ours minus
    /// `DATABASE_URL` and `JWT_KEY` (so the caller's shell cannot change what is tested).
    static func runToExit(_ arguments: [String], environment extra: [String: String] = [:], timeout: Duration = .seconds(20)) async throws -> Exit {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = nil
        environment["JWT_KEY"] = nil
        environment["PORT"] = nil
        environment.merge(extra) { _, new in new }
        let outputPath = ChildProcess.temporaryOutputPath()
        defer { unlink(outputPath) }
        let start = ContinuousClock.now
        let pid = try ChildProcess.spawn([Self.executable] + arguments, environment: environment, outputPath: outputPath)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) != pid {
            if ContinuousClock.now - start > timeout {
                Glibc.kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let elapsed = ContinuousClock.now - start
        let code = ChildProcess.exitCode(status)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Exit(status: code, elapsed: elapsed, output: output)
    }

    /// Two processes on one database (the first migrates); if the second cannot start, the first is killed.
    static func startPair(database: PostgresConfiguration, extraArguments: [String] = []) async throws -> (ServerProcess, ServerProcess) {
        let a = try await Self.start(database: database, extraArguments: extraArguments)
        do {
            return (a, try await Self.start(database: database, extraArguments: extraArguments))
        } catch {
            a.kill()
            throw error
        }
    }

    private init(pid: pid_t, port: Int) {
        self.pid = pid
        self.port = port
    }

    /// Sends SIGTERM and waits for the exit; returns how long it took, or nil if it did not exit in `timeout`.
    func terminate(timeout: Duration = .seconds(10)) async throws -> Duration? {
        let start = ContinuousClock.now
        Glibc.kill(self.pid, SIGTERM)
        while ContinuousClock.now - start < timeout {
            var status: Int32 = 0
            if waitpid(self.pid, &status, WNOHANG) == self.pid { return ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    func kill() {
        Glibc.kill(self.pid, SIGKILL)
        var status: Int32 = 0
        waitpid(self.pid, &status, 0)
    }
}
