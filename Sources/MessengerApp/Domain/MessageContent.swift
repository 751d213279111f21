/// Message text as the tutorial normalised it: whitespace runs folded to one space, every line trimmed, blank lines
/// dropped.
public enum MessageContent {
    public static func normalize(_ raw: String) -> String {
        var lines: [String] = []
        for line in raw.split(omittingEmptySubsequences: true, whereSeparator: { $0.isNewline }) {
            let words = line.split(whereSeparator: { $0.isWhitespace })
            if !words.isEmpty { lines.append(words.joined(separator: " ")) }
        }
        return lines.joined(separator: "\n")
    }
}
