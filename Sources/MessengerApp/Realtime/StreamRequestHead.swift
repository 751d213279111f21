import Hummingbird
import HummingbirdCore
import NIOCore

/// The first request of a connection when it plainly opens an SSE stream (`GET /api/messages` over HTTP/1.1 with
/// `Accept: text/event-stream`, no body, nothing after it): what ``DirectStreamOpener`` needs to open the stream
/// without Hummingbird's per-connection machinery.
///
/// The parse is deliberately narrow: anything it is not sure of (another route or method, HTTP/1.0, a body, an
/// upgrade, folded or repeated headers, control characters, a pipelined second request) is left to Hummingbird's
/// full HTTP stack, which answers it as it answers every other request. So this parser never has to reject anything
/// itself, and a stream opened here behaves as one opened through the router.
struct StreamRequestHead: Sendable, Equatable {
    /// The request target as sent (path and query), for the request log (redacted there).
    var target: String
    /// From `Authorization: Bearer …`, else the `token` query parameter (as ``Authenticator/token(from:)``).
    var token: String?
    /// From the `Last-Event-ID` header, else the `lastEventId` query parameter.
    var lastEventID: String?

    static let path = "/api/messages"
    static let headEnd: [UInt8] = Array("\r\n\r\n".utf8)

    /// Whether `bytes`, the start of a connection, can still become a stream request (false: it is certainly
    /// something else, so there is no need to wait for the rest of the head).
    static func mayBeStream(_ bytes: ByteBufferView) -> Bool {
        let prefix = "GET /api/messages".utf8
        let count = min(bytes.count, prefix.count)
        return bytes.prefix(count).elementsEqual(prefix.prefix(count))
    }

    /// The stream request in `buffer` when it holds exactly one complete head of that kind; nil for anything else.
    ///
    /// Works on the bytes (a connection is opened thousands of times a second at scale): only the values it uses
    /// become strings. A repeated field among those it reads could be read two ways, so it declines; a repeated
    /// field it does not read cannot change what it does.
    static func parse(_ buffer: ByteBuffer) -> StreamRequestHead? {
        let bytes = buffer.readableBytesView
        guard let end = Self.firstIndex(of: Self.headEnd, in: bytes), end + Self.headEnd.count == bytes.endIndex else { return nil }
        let head = bytes[bytes.startIndex..<(end + 2)]  // every line with its CRLF
        guard Self.isClean(head) else { return nil }
        guard let lineEnd = Self.firstIndex(of: Self.crlf, in: head) else { return nil }
        let requestLine = head[head.startIndex..<lineEnd]
        let prefix = "GET ".utf8
        let suffix = " HTTP/1.1".utf8
        guard requestLine.count > prefix.count + suffix.count, requestLine.starts(with: prefix),
            requestLine.reversed().starts(with: suffix.reversed())
        else { return nil }
        let targetBytes = requestLine[(requestLine.startIndex + prefix.count)..<(requestLine.endIndex - suffix.count)]
        guard targetBytes.starts(with: Self.path.utf8), !targetBytes.contains(UInt8(ascii: " ")) else { return nil }
        let afterPath = targetBytes.startIndex + Self.path.utf8.count
        guard afterPath == targetBytes.endIndex || targetBytes[afterPath] == UInt8(ascii: "?") else { return nil }

        var fields = Fields()
        var lineStart = lineEnd + 2
        while lineStart < head.endIndex {
            guard let next = Self.firstIndex(of: Self.crlf, in: head[lineStart...]) else { return nil }
            let line = head[lineStart..<next]
            lineStart = next + 2
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[line.startIndex..<colon].allSatisfy(Self.isTokenByte)
            else { return nil }
            guard fields.take(name: line[line.startIndex..<colon], value: Self.trimmed(line[(colon + 1)...])) else { return nil }
        }
        guard fields.acceptsEventStream, !fields.hasBody else { return nil }
        let target = String(decoding: targetBytes, as: UTF8.self)
        let query = afterPath == targetBytes.endIndex ? nil : URI(target).queryParameters
        let token = fields.authorization.map { Authenticator.token(authorization: $0) } ?? query?["token"].map(String.init)
        let lastEventID = fields.lastEventID ?? query?["lastEventId"].map(String.init)
        return StreamRequestHead(target: target, token: token, lastEventID: lastEventID)
    }

    /// The fields the stream path reads, and whether the request has anything that sends it elsewhere.
    private struct Fields {
        var authorization: String?
        var lastEventID: String?
        var acceptsEventStream = false
        var seenAccept = false
        var hasBody = false

        /// Records one field; false when the head must go to the HTTP stack.
        mutating func take(name: ByteBufferView.SubSequence, value: ByteBufferView.SubSequence) -> Bool {
            switch name.count {
            case 6 where Self.equal(name, "accept"):
                guard !self.seenAccept else { return false }
                self.seenAccept = true
                self.acceptsEventStream = StreamRequestHead.firstIndex(of: Array("text/event-stream".utf8), in: value) != nil
            case 13 where Self.equal(name, "authorization"):
                guard self.authorization == nil else { return false }
                self.authorization = String(decoding: value, as: UTF8.self)
            case 13 where Self.equal(name, "last-event-id"):
                guard self.lastEventID == nil else { return false }
                self.lastEventID = String(decoding: value, as: UTF8.self)
            case 14 where Self.equal(name, "content-length"):
                if !value.elementsEqual("0".utf8) { self.hasBody = true }
            case 17 where Self.equal(name, "transfer-encoding"), 7 where Self.equal(name, "upgrade"), 6 where Self.equal(name, "expect"):
                self.hasBody = true
            default:
                break
            }
            return true
        }

        /// ASCII case-insensitive comparison with a lowercase name.
        static func equal(_ bytes: ByteBufferView.SubSequence, _ lowercase: StaticString) -> Bool {
            guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
            return lowercase.withUTF8Buffer { expected in
                zip(bytes, expected).allSatisfy { ($0 | 0x20) == $1 || $0 == $1 }
            }
        }
    }

    private static let crlf: [UInt8] = [13, 10]

    /// No control characters but tab and CRLF line ends (NUL, a bare CR or LF: parsers disagree on those).
    private static func isClean(_ head: ByteBufferView.SubSequence) -> Bool {
        var previous: UInt8 = 0
        for byte in head {
            if previous == 13, byte != 10 { return false }
            switch byte {
            case 10: guard previous == 13 else { return false }
            case 9, 13: break
            case 0..<0x20, 0x7F: return false
            default: break
            }
            previous = byte
        }
        return previous == 10
    }

    private static func trimmed(_ bytes: ByteBufferView.SubSequence) -> ByteBufferView.SubSequence {
        var value = bytes
        while let first = value.first, first == 32 || first == 9 { value = value.dropFirst() }
        while let last = value.last, last == 32 || last == 9 { value = value.dropLast() }
        return value
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    static func firstIndex<Bytes: RandomAccessCollection>(of needle: [UInt8], in bytes: Bytes) -> Bytes.Index?
    where Bytes.Element == UInt8 {
        guard bytes.count >= needle.count else { return nil }
        var index = bytes.startIndex
        let last = bytes.index(bytes.endIndex, offsetBy: -needle.count)
        while index <= last {
            if bytes[index] == needle[0], bytes[index...].starts(with: needle) { return index }
            index = bytes.index(after: index)
        }
        return nil
    }
}
