import CLibPQ
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts programs with `posix_spawn` (the one place that does; the tests start the server through it too).
///
/// Not Foundation's `Process`: its termination handling can hang when several run at once from different threads,
/// and a pipe would stay open for as long as the PostgreSQL server that `pg_ctl start` leaves running.
public enum ChildProcess {
    struct Failure: Error, CustomStringConvertible {
        var status: Int32
        var output: String
        var description: String { "exit status \(self.status): \(self.output)" }
    }

    /// Runs `arguments[0]` (an absolute path) and returns its combined output; throws on a non-zero exit.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let outputPath = Self.temporaryOutputPath()
        defer { unlink(outputPath) }
        let pid = try Self.spawn(arguments, outputPath: outputPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { break }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let code = Self.exitCode(status)
        guard code == 0 else { throw Failure(status: code, output: output) }
        return output
    }

    /// Starts `arguments[0]` (an absolute path) and returns its pid without waiting. With `outputPath`, standard
    /// input is `/dev/null` and standard output and error go to that file; without, all three are inherited.
    /// `environment` nil: ours.
    public static func spawn(_ arguments: [String], environment: [String: String]? = nil, outputPath: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let outputPath {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Nothing but the three standard descriptors: a child must not hold the parent's sockets or pipes open (a
        // PostgreSQL left running by `pg_ctl start` would keep them for its whole life, and a connection the parent
        // closes would not end for its peer while a child still has it).
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp ?? [] { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned =
            if let envp { posix_spawn(&pid, arguments[0], &actions, nil, argv, envp) } else {
                posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
            }
        guard spawned == 0 else {
            throw Failure(status: -1, output: "cannot start \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        return pid
    }

    /// A `waitpid` status as an exit code: the exit status, or 128 + the signal that killed it
    /// (WIFEXITED / WEXITSTATUS spelled out: the macros are not imported).
    public static func exitCode(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// A fresh path under /tmp for a child's output.
    public static func temporaryOutputPath() -> String {
        "/tmp/messenger-child-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
    }
}
