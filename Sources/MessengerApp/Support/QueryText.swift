import Hummingbird

/// Text query parameters (`search`): decoded from the raw query so that invalid UTF-8 (`%ED%A0%80`, an encoded
/// surrogate) and NUL (`%00`) are refused with a 422 naming the parameter instead of being passed on.
enum QueryText {
    /// The decoded value of `name`, nil when absent.
    static func value(_ name: String, in request: Request) throws -> String? {
        guard let query = request.uri.query else { return nil }
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.decode(pair[0]).flatMap({ String(validating: $0, as: UTF8.self) }) == name else { continue }
            let raw = pair.count > 1 ? pair[1] : ""
            guard let bytes = Self.decode(raw), !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
                throw AppError.validation([name: "\(name) must be valid UTF-8 text without NUL characters"])
            }
            return text
        }
        return nil
    }

    /// Percent-decoding to bytes (`+` is a space, as browsers encode forms); nil for a malformed escape.
    private static func decode(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return nil }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return bytes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }
}
