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
        try self.encodeDescribedJSON(to: encoder)
    }
}
