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

    /// Appends `text` as a JSON string literal, quotes included, to `out`.
    public static func append(_ text: String, to out: inout String) {
        out.reserveCapacity(out.utf8.count + text.utf8.count + 2)
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{c}": out += "\\f"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
