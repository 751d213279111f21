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
        var out = ""
        Self.append(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal, quotes included, to `out`. Runs of bytes that need no escape are
    /// copied whole (an escape only ever replaces a whole scalar, so every run is valid UTF-8).
    public static func append(_ text: String, to out: inout String) {
        let utf8 = text.utf8
        out += "\""
        // Most text needs no escape: then it is appended whole, one copy instead of a run per escape.
        if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xE2 }) {
            out += text
            out += "\""
            return
        }
        var run = utf8.startIndex
        var index = run
        while index != utf8.endIndex {
            let byte = utf8[index]
            var next = utf8.index(after: index)
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
                escape = Self.lineSeparator(utf8, after: next).map { $0 ? "\\u2028" : "\\u2029" }
                if escape != nil { next = utf8.index(next, offsetBy: 2) }
            default: escape = nil
            }
            if let escape {
                out += Substring(utf8[run..<index])
                out += escape
                run = next
            }
            index = next
        }
        out += Substring(utf8[run..<utf8.endIndex])
        out += "\""
    }

    /// After a 0xE2 byte: true for U+2028, false for U+2029, nil for any other scalar.
    private static func lineSeparator(_ utf8: String.UTF8View, after index: String.Index) -> Bool? {
        guard index != utf8.endIndex, utf8[index] == 0x80 else { return nil }
        let last = utf8.index(after: index)
        guard last != utf8.endIndex else { return nil }
        switch utf8[last] {
        case 0xA8: return true
        case 0xA9: return false
        default: return nil
        }
    }
}
