import Foundation
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/1.1 over a plain socket, byte for byte: for requests no well-behaved client sends (invalid UTF-8, raw
/// paths with `..`, wrong framing) and for choosing the source address (`127.0.0.2` is another client to the
/// server's per-address limits). Blocking socket calls run on a thread pool, never on the cooperative pool.
enum RawHTTP {
    /// Its own threads: sharing `NIOThreadPool.singleton` with the server's bcrypt would let a few blocked reads
    /// starve the very work they wait for.
    static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            self.headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        var text: String { String(decoding: self.body, as: UTF8.self) }
    }

    /// A request's bytes; `Content-Length` and `Connection: close` are added.
    static func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// Sends `bytes` to 127.0.0.1:`port` from `source` and reads the reply until the server closes.
    static func send(_ bytes: [UInt8], port: Int, from source: String = "127.0.0.1") async throws -> Reply {
        try await Self.threads.runIfActive { try Self.parse(Self.exchange(bytes, port: port, source: source, until: .close)) }
    }

    /// Like ``send(_:port:from:)`` but returns once the response head has arrived (for streams that stay open).
    static func sendForHead(_ bytes: [UInt8], port: Int) async throws -> Reply {
        try await Self.threads.runIfActive { try Self.parse(Self.exchange(bytes, port: port, source: "127.0.0.1", until: .head)) }
    }

    /// Sends `bytes` and returns what the first `recv` of the answer got: the bytes of the server's first write,
    /// which loopback TCP delivers whole (and nothing of a later write, unless it came before the client read).
    static func firstRead(_ bytes: [UInt8], port: Int) async throws -> [UInt8] {
        try await Self.threads.runIfActive { try Self.exchange(bytes, port: port, source: "127.0.0.1", until: .firstRead) }
    }

    private enum Until { case close, head, firstRead }

    private static func exchange(_ bytes: [UInt8], port: Int, source: String, until: Until) throws -> [UInt8] {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_addr.s_addr = inet_addr("127.0.0.1")
        remote.sin_port = UInt16(port).bigEndian
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let connected =
            withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, size) == 0 } }
            && withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, size) == 0 } }
        guard connected else { throw TestFailure("cannot connect from \(source) to port \(port): \(String(cString: strerror(errno)))") }
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // The server may answer (413, 400) and close before reading everything: read what it said.
            if written <= 0 { break }
            sent += written
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += chunk[0..<count]
            if until == .firstRead || (until == .head && Self.headEnd(received) != nil) { break }
        }
        return received
    }

    static func parse(_ bytes: [UInt8]) throws -> Reply {
        guard let end = Self.headEnd(bytes) else {
            throw TestFailure("no HTTP reply (\(bytes.count) bytes): \(String(decoding: bytes, as: UTF8.self))")
        }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestFailure("bad status line: \(head[0])") }
        let headers = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(bytes[(end + 4)...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
            body = Self.dechunk(body)
        }
        return Reply(status: status, headers: headers, body: body)
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        return (0...(bytes.count - 4)).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
    }

    private static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = (index..<bytes.count - 1).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else { break }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            output += bytes[start..<min(start + size, bytes.count)]
            index = start + size + 2
        }
        return output
    }
}
