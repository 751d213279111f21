import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A client that sends one request and then never reads: the slow consumer of the slow-subscriber test.
final class StuckReader: Sendable {
    let descriptor: Int32

    /// The headers of a WebSocket upgrade (a fixed key: the test never checks the accept value).
    static let webSocketHeaders =
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

    static func connect(
        port: Int, path: String, headers: String = "Accept: text/event-stream\r\n", version: String = "HTTP/1.1"
    ) async throws -> StuckReader {
        try await self.connect(port: port, sending: "GET \(path) \(version)\r\nHost: 127.0.0.1\r\n\(headers)\r\n")
    }

    /// Connects and sends `bytes` (possibly nothing, or half a request).
    static func connect(port: Int, sending bytes: String) async throws -> StuckReader {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        // A tiny receive buffer so the server's writes back up quickly.
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw TestFailure("connect failed") }
        if !bytes.isEmpty { _ = bytes.withCString { send(fd, $0, strlen($0), 0) } }
        return StuckReader(descriptor: fd)
    }

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Reads whatever is buffered (the reader finally wakes up) and reports whether the stream ends with the
    /// server's close: after being cut off, the data is followed by EOF; a live stream just has no more data.
    func drainReachesEOF(timeout: Duration) async throws -> Bool {
        let flags = fcntl(self.descriptor, F_GETFL)
        _ = fcntl(self.descriptor, F_SETFL, flags | O_NONBLOCK)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = read(self.descriptor, &buffer, buffer.count)
            if count == 0 { return true }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    try await Task.sleep(for: .milliseconds(10))
                    continue
                }
                return true
            }
        }
        return false
    }

    /// Everything the server sends until it closes the connection; nil if it is still open after `timeout`.
    func readUntilEOF(timeout: Duration) async throws -> [UInt8]? {
        try await self.receive(timeout: timeout) { _ in false }
    }

    /// What the server sent until `done` says so or the connection ends; nil on timeout.
    func receive(timeout: Duration, until done: ([UInt8]) -> Bool) async throws -> [UInt8]? {
        let flags = fcntl(self.descriptor, F_GETFL)
        _ = fcntl(self.descriptor, F_SETFL, flags | O_NONBLOCK)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = read(self.descriptor, &buffer, buffer.count)
            if count == 0 { return received }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    try await Task.sleep(for: .milliseconds(10))
                    continue
                }
                return received
            }
            received += buffer[0..<count]
            if done(received) { return received }
        }
        return nil
    }

    func close() {
        Glibc.close(self.descriptor)
    }

    /// Closes with a reset (RST) instead of an orderly FIN: the server's next operation on the socket fails at once.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(self.descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(self.descriptor)
    }
}
