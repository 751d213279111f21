#if canImport(Glibc)
    import Glibc
#endif

/// Checks before anything else starts that the listen address is free, so that "port in use" costs no embedded
/// PostgreSQL start and stop. The HTTP server's own bind error is still mapped to the same message (a race with
/// another program remains possible).
enum ListenProbe {
    /// Throws ``StartupFailure`` when `host:port` cannot be bound because it is taken or forbidden.
    static func check(host: String, port: Int) throws {
        guard port > 0 else { return }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw StartupFailure("cannot listen on \(host):\(port): unknown address; pass an IP address or host name with --host")
        }
        defer { freeaddrinfo(result) }
        let socketDescriptor = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { return }
        defer { close(socketDescriptor) }
        // As the server does: a previous run's TIME_WAIT connections must not count as "in use".
        var one: Int32 = 1
        setsockopt(socketDescriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(socketDescriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 else { return }
        let code = errno
        throw Self.failure(host: host, port: port, errno: code)
            ?? StartupFailure("cannot listen on \(host):\(port): \(String(cString: strerror(code)))")
    }

    /// The one-line explanation of a bind error, nil when it is not one we can explain better than its text.
    static func failure(host: String, port: Int, errno code: Int32) -> StartupFailure? {
        switch code {
        case EADDRINUSE:
            StartupFailure(
                "cannot listen on \(host):\(port): the address is already in use by another program; stop it or choose another port with --port"
            )
        case EACCES:
            StartupFailure("cannot listen on \(host):\(port): permission denied (ports below 1024 need privileges); choose another port with --port")
        case EADDRNOTAVAIL:
            StartupFailure("cannot listen on \(host):\(port): this machine has no such address; choose another with --host")
        default:
            nil
        }
    }
}
