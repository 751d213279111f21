/// A participant: the user and how far they have read.
public struct Participant: Codable, Sendable, Equatable {
    public var id: String
    public var username: String
    public var avatarURL: String?
    public var lastReadMessageId: String?
    /// Whether they have a stream open anywhere; null when presence is off.
    public var online: Bool? = nil
    /// When their last stream closed; null when never seen, or presence is off.
    public var lastSeenAt: String? = nil

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.username, forKey: .username)
        try container.encode(self.avatarURL, forKey: .avatarURL)
        try container.encode(self.lastReadMessageId, forKey: .lastReadMessageId)
        try container.encode(self.online, forKey: .online)
        try container.encode(self.lastSeenAt, forKey: .lastSeenAt)
    }
}
