/// `GET /api/conversations/{id}/messages?around=…`: a page of messages centred on one, oldest first, with the
/// cursors to page on in both directions (`before` for older, `after` for newer; null when there is nothing more).
public struct MessageWindow: Codable, Sendable, Equatable {
    public var messages: [Message]
    public var before: String?
    public var after: String?

    public init(messages: [Message], before: String?, after: String?) {
        self.messages = messages
        self.before = before
        self.after = after
    }

    public func encode(to encoder: any Encoder) throws {
        try self.encodeDescribedJSON(to: encoder)
    }
}
