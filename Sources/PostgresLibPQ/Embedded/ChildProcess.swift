import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to completion with `posix_spawn` and `waitpid`, its output captured through a temporary file.
///
/// Not Foundation's `Process`: its termination handling can hang when several run at once from different threads,
/// and a pipe would stay open for as long as the PostgreSQL server that `pg_ctl start` leaves running.
enum ChildProcess {
    struct Failure: Error, CustomStringConvertible {
        var status: Int32
        var output: String
        var description: String { "exit status \(self.status): \(self.output)" }
    }

    /// Runs `arguments[0]` (an absolute path) and returns its combined output; throws on a non-zero exit.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let outputPath = "/tmp/messenger-child-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw Failure(status: -1, output: "cannot start \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { break }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS, spelled out: the macros are not imported.
        let exited = (status & 0x7f) == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard code == 0 else { throw Failure(status: code, output: output) }
        return output
    }
}
