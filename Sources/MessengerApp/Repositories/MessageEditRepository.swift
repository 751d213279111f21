/// Editing and deleting one's own messages; every call checks that `userID` takes part in the conversation.
public protocol MessageEditRepository: Sendable {
    /// Replaces the content of the caller's message if it is younger than `window` and not deleted.
    func editMessage(userID: Int64, conversationID: Int64, messageID: Int64, content: String, window: Duration) async throws
        -> EditMessageResult
    /// Turns the caller's message into a tombstone (content removed from the row). Deleting a tombstone again is done.
    func deleteMessage(userID: Int64, conversationID: Int64, messageID: Int64) async throws -> DeleteMessageResult
}

public enum EditMessageResult: Sendable {
    case edited(Message)
    /// Unknown message, deleted message, or the caller is not a participant.
    case notFound
    case notAuthor
    case windowPassed
}

public enum DeleteMessageResult: Sendable {
    /// `changed` is false when it was already deleted (no new event).
    case deleted(changed: Bool)
    case notFound
    case notAuthor
}
