/// A piece of a search hit's snippet: `{"text": "lunch", "match": true}`. Clients render each part as text (a
/// matched part emphasised), so a snippet can never carry markup.
public struct SnippetPart: Codable, Sendable, Equatable {
    public var text: String
    public var match: Bool

    public init(text: String, match: Bool) {
        self.text = text
        self.match = match
    }
}
