import Foundation

/// One claimed push from the outbox, with everything its payload needs.
public struct PushNotification: Sendable, Equatable {
    public var id: Int64
    public var recipientID: Int64
    public var recipientUsername: String
    public var conversationID: Int64
    /// nil for one-to-one conversations.
    public var conversationTitle: String?
    /// The newest message the push covers.
    public var messageID: Int64
    public var senderID: Int64
    public var senderUsername: String
    /// The start of the newest message's current text (empty when it was deleted).
    public var preview: String
    /// How many messages the push covers (coalesced).
    public var messageCount: Int
    /// The recipient's unread messages in the conversation (at most 1000).
    public var unreadCount: Int
    /// This delivery's number (1 for the first).
    public var attempt: Int
    /// The same for every attempt of this push: receivers deduplicate on it.
    public var idempotencyKey: String
    public var createdAt: Date
}
