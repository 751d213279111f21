import Foundation
import Testing

@testable import PostgresLibPQ

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Child processes")
struct ChildProcessTests {
    /// A child that inherited a connection kept it open after the parent closed it: its peer saw no end. In the test
    /// suite a server process started by one test held the sockets of others, whose "the stream ends" checks then
    /// failed; an embedded PostgreSQL started by `pg_ctl` would hold what the server had open for its whole life.
    @Test("a child has only its three standard descriptors, not what its parent has open")
    func childHasOnlyStandardDescriptors() throws {
        // Descriptors of the kind that leaked: not close-on-exec, as `socket(2)` and `pipe(2)` make them.
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        defer {
            close(descriptors[0])
            close(descriptors[1])
        }
        #expect(fcntl(descriptors[0], F_GETFD) & FD_CLOEXEC == 0)
        // What the child has open, named by its own /proc/self/fd (the directory `ls` reads is one more, its own).
        let output = try ChildProcess.run(["/bin/sh", "-c", "exec ls -1 /proc/self/fd"])
        let open = Set(output.split(separator: "\n").compactMap { Int32($0) })
        #expect(open.isSuperset(of: [0, 1, 2]))
        #expect(open.isDisjoint(with: descriptors), "the child has the parent's \(descriptors): \(open.sorted())")
        #expect(open.count <= 4, "\(open.sorted())")
    }
}
