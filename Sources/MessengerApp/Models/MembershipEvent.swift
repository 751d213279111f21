/// A line of a group's history: `{"id", "type": "created"|"joined"|"left", "conversationId", "user", "actor",
/// "createdAt"}`. `id` comes from the same sequence as message ids, so events sort among the messages by id.
/// `actor` is who added `user` (a `joined` event), else null.
public struct MembershipEvent: Codable, Sendable, Equatable {
    public var id: String
    public var type: String
    public var conversationId: String
    public var user: User
    public var actor: User?
    public var createdAt: String

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.type, forKey: .type)
        try container.encode(self.conversationId, forKey: .conversationId)
        try container.encode(self.user, forKey: .user)
        try container.encode(self.actor, forKey: .actor)
        try container.encode(self.createdAt, forKey: .createdAt)
    }
}
