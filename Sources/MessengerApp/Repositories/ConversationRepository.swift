/// Conversations, participants and messages as seen by one user; every call checks that `userID` takes part.
public protocol ConversationRepository: Sendable {
    /// The 1:1 conversation of the pair, created if needed; `created` tells which.
    func createDirect(userID: Int64, otherUserID: Int64) async throws -> (conversation: Conversation, created: Bool)
    /// A group of the creator and `memberIDs`.
    func createGroup(userID: Int64, title: String, memberIDs: [Int64]) async throws -> Conversation
    /// Most recent activity first, after the keyset cursor.
    func list(userID: Int64, before cursor: ConversationCursor?, limit: Int) async throws -> [Conversation]
    func find(userID: Int64, conversationID: Int64) async throws -> Conversation?
    /// nil when the caller is not a participant.
    func participants(userID: Int64, conversationID: Int64) async throws -> [Participant]?
    /// Adds a member to a group.
    func addParticipant(userID: Int64, conversationID: Int64, newUserID: Int64) async throws -> AddParticipantResult
    /// Leaves a group.
    func leave(userID: Int64, conversationID: Int64) async throws -> LeaveResult

    /// Stores a message (or finds the original of a retried `clientID`); nil when the caller is not a participant.
    func createMessage(userID: Int64, conversationID: Int64, content: String, clientID: String?) async throws -> (message: Message, created: Bool)?
    /// A page of messages; nil when the caller is not a participant.
    func messages(userID: Int64, conversationID: Int64, page: MessagePage) async throws -> [Message]?
    /// Up to `older` messages before `messageID`, the message, and up to `newer` after it (oldest first); nil when the
    /// caller is not a participant or the message is not in the conversation.
    func messages(userID: Int64, conversationID: Int64, around messageID: Int64, older: Int, newer: Int) async throws -> MessageWindow?
    /// Moves the read position forward (never back).
    func markRead(userID: Int64, conversationID: Int64, upTo messageID: Int64?) async throws -> MarkReadResult
}

public enum AddParticipantResult: Sendable {
    case added(Participant)
    case notFound
    case notAGroup
    case alreadyMember
    case full
}

public enum LeaveResult: Sendable {
    case left
    case notFound
    case notAGroup
}

public enum MarkReadResult: Sendable {
    /// `moved` is false when the position was already there or further.
    case done(moved: Bool)
    case notFound
    case messageNotFound
}

/// Which messages to list.
public enum MessagePage: Sendable {
    /// Newest first, older than `before` (or the newest).
    case before(Int64?, limit: Int)
    /// Oldest first, newer than `after`.
    case after(Int64, limit: Int)
}
