/// Reads a conversation's membership history (the `created`, `joined` and `left` rows of the stream).
public protocol MembershipHistoryRepository: Sendable {
    /// The newest `limit` membership events of the conversation, oldest first; nil when the user is not a member.
    func membershipEvents(userID: Int64, conversationID: Int64, limit: Int) async throws -> [MembershipEvent]?
}
