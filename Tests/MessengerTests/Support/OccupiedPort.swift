import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP port on 127.0.0.1 held by a socket of the test process.
///
/// Listening: "another program" uses the port. Not listening: connections to it are refused, yet no other socket
/// (another test's server binding port 0) can take it, so a test can make a peer "down" and later start it on the same
/// port without a window of seconds in which the port is free.
final class OccupiedPort: Sendable {
    let port: Int
    private let descriptor: Mutex<Int32?>

    init(listening: Bool = true) throws {
        // Close-on-exec: a process the test process starts meanwhile (PostgreSQL, a server) must not inherit the port.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && (!listening || listen(descriptor, 16) == 0)
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw TestFailure("cannot occupy a port")
        }
        self.descriptor = Mutex(descriptor)
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Frees the port now (the next bind of it can succeed).
    func release() {
        if let descriptor = self.descriptor.withLock({ held in
            defer { held = nil }
            return held
        }) {
            close(descriptor)
        }
    }

    deinit {
        self.release()
    }
}
