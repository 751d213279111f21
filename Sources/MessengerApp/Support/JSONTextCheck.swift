/// Finds text a JSON decoder accepts (or turns into something else) but that must never reach the database: an
/// escaped NUL (`\u0000`, which PostgreSQL `text` cannot hold) and an unpaired UTF-16 surrogate escape (`\ud800`,
/// not a character at all). Working on the raw bytes lets the 422 name the field the bad text was in.
enum JSONTextCheck {
    /// The key whose value holds bad text (the nearest key before it; `"body"` when there is none), or nil.
    static func fieldWithBadText(in bytes: some RandomAccessCollection<UInt8>) -> String? {
        let text = Array(bytes)
        var index = 0
        var lastKey: String?
        while index < text.count {
            guard text[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            let start = index + 1
            var cursor = start
            var bad = false
            while cursor < text.count, text[cursor] != UInt8(ascii: "\"") {
                if text[cursor] == 0 { bad = true }
                guard text[cursor] == UInt8(ascii: "\\") else {
                    cursor += 1
                    continue
                }
                guard cursor + 1 < text.count, text[cursor + 1] == UInt8(ascii: "u") else {
                    cursor += 2
                    continue
                }
                guard let unit = Self.hexUnit(text, at: cursor + 2) else {
                    cursor += 2
                    continue
                }
                switch unit {
                case 0:
                    bad = true
                    cursor += 6
                case 0xD800...0xDBFF:
                    // A high surrogate must be followed at once by an escaped low one.
                    if cursor + 7 < text.count, text[cursor + 6] == UInt8(ascii: "\\"), text[cursor + 7] == UInt8(ascii: "u"),
                        let low = Self.hexUnit(text, at: cursor + 8), (0xDC00...0xDFFF).contains(low)
                    {
                        cursor += 12
                    } else {
                        bad = true
                        cursor += 6
                    }
                case 0xDC00...0xDFFF:
                    bad = true
                    cursor += 6
                default:
                    cursor += 6
                }
            }
            let string = String(decoding: text[start..<min(cursor, text.count)], as: UTF8.self)
            index = cursor + 1
            var next = index
            while next < text.count, [0x20, 0x09, 0x0A, 0x0D].contains(text[next]) { next += 1 }
            let isKey = next < text.count && text[next] == UInt8(ascii: ":")
            if isKey { lastKey = string }
            if bad { return lastKey ?? "body" }
        }
        return nil
    }

    /// The UTF-16 unit of the four hex digits of a `\u` escape at `offset`, or nil (too short, not hex). Shared with
    /// ``FlatJSONObject``.
    static func hexUnit<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, at offset: Int) -> UInt32? where Bytes.Index == Int {
        guard offset >= bytes.startIndex, offset + 4 <= bytes.endIndex else { return nil }
        var value: UInt32 = 0
        for byte in bytes[offset..<offset + 4] {
            let digit: UInt8
            switch byte {
            case 48...57: digit = byte - 48
            case 65...70: digit = byte - 55
            case 97...102: digit = byte - 87
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
