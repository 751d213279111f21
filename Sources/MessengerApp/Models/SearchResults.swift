/// `GET /api/search`: ranked message hits with a keyset cursor, plus the caller's conversations and the people whose
/// names match (first page only).
public struct SearchResults: Codable, Sendable, Equatable {
    public var messages: [SearchHit]
    /// Pass as `cursor` for the next page; null when there is none.
    public var nextCursor: String?
    public var conversations: [SearchConversation]
    public var people: [User]

    public init(messages: [SearchHit], nextCursor: String?, conversations: [SearchConversation], people: [User]) {
        self.messages = messages
        self.nextCursor = nextCursor
        self.conversations = conversations
        self.people = people
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.messages, forKey: .messages)
        try container.encode(self.nextCursor, forKey: .nextCursor)
        try container.encode(self.conversations, forKey: .conversations)
        try container.encode(self.people, forKey: .people)
    }
}
