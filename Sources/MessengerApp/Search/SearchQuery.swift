/// What the user typed, split for a safe full-text query: no operator syntax of the user's ever reaches
/// `to_tsquery`.
///
/// The last word (a run of letters and digits) is matched as a prefix so results come while typing; everything
/// before it goes through `plainto_tsquery`, which treats all text as words (quotes, `&|!:*()` are separators).
/// The last word contains only letters and digits, so quoting it for `to_tsquery` needs no escaping.
public struct SearchQuery: Sendable, Equatable {
    /// The longest `q` accepted, in characters.
    public static let maxLength = 1000

    /// The text before the last word (may be empty or contain no word at all).
    public let head: String
    /// The last word, matched as a prefix; nil when the text has no word (e.g. only punctuation or emoji).
    public let last: String?
    /// The text trimmed, for matching names.
    public let name: String

    public init(_ text: String) {
        self.name = text.trimmingWhitespace()
        var lastRange: Range<String.Index>?
        var end: String.Index?
        var index = text.endIndex
        while index > text.startIndex {
            let previous = text.index(before: index)
            let isWord = Self.isWordCharacter(text[previous])
            if end == nil {
                if isWord { end = index }
            } else if !isWord {
                lastRange = index..<end!
                break
            }
            index = previous
        }
        if lastRange == nil, let end { lastRange = text.startIndex..<end }
        if let lastRange {
            self.last = String(text[lastRange])
            self.head = String(text[..<lastRange.lowerBound])
        } else {
            self.last = nil
            self.head = ""
        }
    }

    /// True when `head` has something `plainto_tsquery` can make a word of (otherwise it would log a notice).
    public var headHasWords: Bool { self.head.contains(where: Self.isWordCharacter) }

    /// The `to_tsquery` text for the prefix word: `'word':*`.
    public var prefixQueryText: String? { self.last.map { "'\($0)':*" } }

    static func isWordCharacter(_ character: Character) -> Bool {
        // Every scalar a letter, mark or digit: no quote, backslash or operator can be part of a word.
        character.unicodeScalars.allSatisfy { scalar in
            let properties = scalar.properties
            return properties.isAlphabetic || properties.numericType != nil || properties.generalCategory == .nonspacingMark
                || properties.generalCategory == .spacingMark
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
