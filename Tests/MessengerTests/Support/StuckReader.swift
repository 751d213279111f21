import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A client that sends one request and then never reads: the slow consumer of the slow-subscriber test.
final class StuckReader: Sendable {
    let descriptor: Int32

    static func connect(port: Int, path: String) async throws -> StuckReader {
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
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        return StuckReader(descriptor: fd)
    }

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// True once the server closed the connection (a write fails or a FIN/RST is pending).
    func isClosedByServer() -> Bool {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        getsockopt(self.descriptor, Int32(IPPROTO_TCP), TCP_INFO, &info, &length)
        // TCP_CLOSE_WAIT (8) or TCP_CLOSE (7): the server has closed its side.
        return info.tcpi_state == 8 || info.tcpi_state == 7
    }

    func close() {
        Glibc.close(self.descriptor)
    }
}
