import Foundation

/// One replayable row of the stream as the repository reads it: a message, a read position or a membership change.
public struct StreamRecord: Sendable {
    public var position: StreamPosition
    public var kind: StreamEvent.Kind
    public var conversationID: Int64
    /// The sender, reader, creator, or the user who joined or left.
    public var actorID: Int64
    /// The message (for a message, its own id; for a read position, the last message read).
    public var messageID: Int64?
    public var content: String?
    public var createdAt: Date
    public var clientID: String?
    public var username: String
    public var avatarURL: String?
    /// The message's state (for a message, an edit or a deletion): when it was last edited, whether it is deleted,
    /// and when it was sent (an edit's own `createdAt` is the time of the edit).
    public var editedAt: Date?
    public var deleted = false
    public var messageCreatedAt: Date?
}
