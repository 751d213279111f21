/// A conversation as seen by one participant.
public struct Conversation: Codable, Sendable, Equatable {
    public var id: String
    public var title: String?
    public var isGroup: Bool
    /// The other user of a 1:1 conversation; null for groups.
    public var otherParticipant: User?
    public var participantCount: Int
    public var lastMessage: Message?
    public var hasUnreadMessages: Bool
    /// Messages from others after the caller's read position (counted up to 1,000).
    public var unreadCount: Int
    public var createdAt: String
    /// For a 1:1: whether the other person is online; null for groups and when presence is off.
    public var online: Bool? = nil
    /// For a 1:1: when the other person was last seen; null for groups, if never, or when presence is off.
    public var lastSeenAt: String? = nil
    /// Opaque keyset cursor: pass the last item's cursor as `before` for the next page.
    public var cursor: String

    public func encode(to encoder: any Encoder) throws {
        try self.encodeDescribedJSON(to: encoder)
    }
}
