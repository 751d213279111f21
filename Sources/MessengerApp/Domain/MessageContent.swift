/// Message text as the tutorial normalised it: whitespace runs folded to one space, every line trimmed, blank lines
/// dropped.
public enum MessageContent {
    public static func normalize(_ raw: String) -> String {
        Self.normalizeASCII(raw) ?? Self.normalizeCharacters(raw)
    }

    /// Any text, by `Character` (grapheme clusters: a whitespace or newline character is one whose first scalar is).
    static func normalizeCharacters(_ raw: String) -> String {
        var lines: [String] = []
        for line in raw.split(omittingEmptySubsequences: true, whereSeparator: { $0.isNewline }) {
            let words = line.split(whereSeparator: { $0.isWhitespace })
            if !words.isEmpty { lines.append(words.joined(separator: " ")) }
        }
        return lines.joined(separator: "\n")
    }

    /// The same result for text that is all ASCII (most messages), in one pass over its bytes; `nil` for any other
    /// text. Splitting by `Character` breaks graphemes first, which was a few per cent of a send's server CPU.
    /// In ASCII, `Character.isNewline` is exactly 0x0A–0x0D and `isWhitespace` those plus tab and space ("\r\n" is
    /// one character but two newline bytes here: an empty line between them is dropped either way).
    static func normalizeASCII(_ raw: String) -> String? {
        var raw = raw
        return raw.withUTF8 { bytes -> String? in
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            var lineHasWord = false
            var spaceBefore = false
            var newlineBefore = false
            for byte in bytes {
                switch byte {
                case 0x80...: return nil
                case 0x0A...0x0D:
                    if lineHasWord { newlineBefore = true }
                    lineHasWord = false
                    spaceBefore = false
                case 0x09, 0x20:
                    if lineHasWord { spaceBefore = true }
                default:
                    if newlineBefore {
                        output.append(0x0A)
                    } else if spaceBefore {
                        output.append(0x20)
                    }
                    newlineBefore = false
                    spaceBefore = false
                    lineHasWord = true
                    output.append(byte)
                }
            }
            return String(decoding: output, as: UTF8.self)
        }
    }
}
