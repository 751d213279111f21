/// The body of an HTTP/1.1 response read straight off a socket (``RawStreamOpener``): skips the head and undoes the
/// chunked transfer coding, passing the body on in the pieces the reads bring. A response without
/// `Transfer-Encoding: chunked` is passed on as it comes, until the connection closes.
struct RawResponseBody {
    private enum State {
        case head
        case size
        case sizeExtension
        case data
        case dataEnd
        case identity
        case ended
    }

    private var state = State.head
    /// The head so far (kept to see whether the body is chunked; a stream's head is a few hundred bytes).
    private var head: [UInt8] = []
    private var size = 0
    /// Bytes left of the current chunk, or of the CRLF after it.
    private var remaining = 0

    /// Parses `raw`, calling `body` with each piece of the body it holds.
    mutating func consume(_ raw: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var index = 0
        while index < raw.count {
            switch self.state {
            case .head:
                self.head.append(raw[index])
                index += 1
                if self.head.count >= 4 && self.head.suffix(4).elementsEqual("\r\n\r\n".utf8) {
                    let text = String(decoding: self.head, as: UTF8.self).lowercased()
                    self.state = text.contains("\r\ntransfer-encoding: chunked\r\n") ? .size : .identity
                    self.head = []
                }
            case .size, .sizeExtension:
                let byte = raw[index]
                index += 1
                if byte == UInt8(ascii: "\n") {
                    if self.size == 0 {
                        self.state = .ended
                    } else {
                        self.remaining = self.size
                        self.state = .data
                    }
                    self.size = 0
                } else if case .size = self.state, let digit = Self.hexDigit(byte) {
                    self.size = self.size * 16 + digit
                } else {
                    // A chunk extension (";…") or the CR: read past to the LF.
                    self.state = .sizeExtension
                }
            case .data:
                let take = min(self.remaining, raw.count - index)
                body(UnsafeRawBufferPointer(rebasing: raw[index..<index + take]))
                index += take
                self.remaining -= take
                if self.remaining == 0 {
                    self.remaining = 2
                    self.state = .dataEnd
                }
            case .dataEnd:
                index += 1
                self.remaining -= 1
                if self.remaining == 0 { self.state = .size }
            case .identity:
                body(UnsafeRawBufferPointer(rebasing: raw[index...]))
                index = raw.count
            case .ended:
                return
            }
        }
    }

    private static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}
