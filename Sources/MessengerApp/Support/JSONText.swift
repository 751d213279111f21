/// JSON string quoting for bodies written by ``JSONObjectWriter`` (and the few frames still assembled from parts).
///
/// The escapes are `JSONEncoder`'s (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00XX` for the other control
/// characters, `/` left alone) so both paths write the same bytes; the one deliberate difference is that U+2028 and
/// U+2029 are escaped too, so a body is also safe where it is read as JavaScript source rather than as JSON.
/// A Swift `String` cannot hold a lone UTF-16 surrogate, so there is none to escape here: request bodies that
/// smuggle one in as `\ud800` are refused with a 422 before decoding (``JSONTextCheck``).
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func quote(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        Self.append(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text` as a JSON string literal, quotes included, to the UTF-8 bytes `out`. Runs of bytes that need
    /// no escape are copied whole (an escape only ever replaces a whole scalar, so every run is valid UTF-8).
    public static func append(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if text.utf8.withContiguousStorageIfAvailable({ Self.appendEscaped($0, to: &out) }) == nil {
            Array(text.utf8).withUnsafeBufferPointer { Self.appendEscaped($0, to: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        // Most text needs no escape: then it is appended whole.
        guard bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xE2 }) else {
            out.append(contentsOf: bytes)
            return
        }
        var run = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            var next = index + 1
            let escape: String?
            switch byte {
            case 0x22: escape = "\\\""
            case 0x5C: escape = "\\\\"
            case 0x0A: escape = "\\n"
            case 0x0D: escape = "\\r"
            case 0x09: escape = "\\t"
            case 0x08: escape = "\\b"
            case 0x0C: escape = "\\f"
            case 0..<0x20: escape = "\\u00" + (byte < 0x10 ? "0" : "1") + String(byte & 0xF, radix: 16)
            case 0xE2:
                // U+2028 is E2 80 A8 and U+2029 E2 80 A9 in UTF-8.
                if next + 1 < bytes.count, bytes[next] == 0x80, bytes[next + 1] == 0xA8 || bytes[next + 1] == 0xA9 {
                    escape = bytes[next + 1] == 0xA8 ? "\\u2028" : "\\u2029"
                    next += 2
                } else {
                    escape = nil
                }
            default: escape = nil
            }
            if let escape {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
                out.append(contentsOf: escape.utf8)
                run = next
            }
            index = next
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<bytes.count]))
    }
}
