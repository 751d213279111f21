/// One message found by search: the message, where it is, and a snippet with the matches marked.
public struct SearchHit: Codable, Sendable, Equatable {
    public var message: Message
    public var conversation: SearchConversation
    public var snippet: [SnippetPart]

    public init(message: Message, conversation: SearchConversation, snippet: [SnippetPart]) {
        self.message = message
        self.conversation = conversation
        self.snippet = snippet
    }
}
