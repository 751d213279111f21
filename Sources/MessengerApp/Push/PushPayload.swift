import Foundation

/// The JSON body of a push (documented as `PushPayload` in docs/openapi.yaml, under `webhooks`).
struct PushPayload: Encodable {
    struct Person: Encodable {
        var id: String
        var username: String
    }

    /// The outbox row's id.
    var id: String
    var recipient: Person
    var conversationId: String
    var conversationTitle: String?
    var messageId: String
    var sender: Person
    var preview: String
    var messageCount: Int
    var unreadCount: Int
    var attempt: Int
    var createdAt: String

    init(_ push: PushNotification) {
        self.id = String(push.id)
        self.recipient = Person(id: String(push.recipientID), username: push.recipientUsername)
        self.conversationId = String(push.conversationID)
        self.conversationTitle = push.conversationTitle
        self.messageId = String(push.messageID)
        self.sender = Person(id: String(push.senderID), username: push.senderUsername)
        self.preview = push.preview
        self.messageCount = push.messageCount
        self.unreadCount = push.unreadCount
        self.attempt = push.attempt
        self.createdAt = Timestamp.format(push.createdAt)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.recipient, forKey: .recipient)
        try container.encode(self.conversationId, forKey: .conversationId)
        // Always present: null for one-to-one conversations.
        try container.encode(self.conversationTitle, forKey: .conversationTitle)
        try container.encode(self.messageId, forKey: .messageId)
        try container.encode(self.sender, forKey: .sender)
        try container.encode(self.preview, forKey: .preview)
        try container.encode(self.messageCount, forKey: .messageCount)
        try container.encode(self.unreadCount, forKey: .unreadCount)
        try container.encode(self.attempt, forKey: .attempt)
        try container.encode(self.createdAt, forKey: .createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, recipient, conversationId, conversationTitle, messageId, sender, preview, messageCount, unreadCount, attempt, createdAt
    }

    /// The body bytes (sorted keys: stable for a receiver that logs them).
    func body() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }
}
