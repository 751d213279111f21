/// A conversation as search shows it: enough to name it (`title` for groups, `otherParticipant` for 1:1) and open it.
public struct SearchConversation: Codable, Sendable, Equatable {
    public var id: String
    public var title: String?
    public var isGroup: Bool
    public var otherParticipant: User?

    public init(id: Int64, title: String?, isGroup: Bool, otherParticipant: User?) {
        self.id = String(id)
        self.title = title
        self.isGroup = isGroup
        self.otherParticipant = otherParticipant
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        // Always present (null when unset), like the conversation objects elsewhere.
        try container.encode(self.title, forKey: .title)
        try container.encode(self.isGroup, forKey: .isGroup)
        try container.encode(self.otherParticipant, forKey: .otherParticipant)
    }
}
