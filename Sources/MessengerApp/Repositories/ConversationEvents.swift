/// What the conversation layer tells the realtime layer after a commit. The conversation code knows nothing about
/// SSE: the realtime layer implements this (and reads the committed rows itself).
public protocol ConversationEvents: Sendable {
    /// A message was committed.
    func messageCreated(id: Int64, conversationID: Int64)
    /// A participant's read position moved.
    func messagesRead(conversationID: Int64, userID: Int64)
    /// A message was edited or deleted.
    func messageChanged(conversationID: Int64)
    /// A conversation was created or its membership changed.
    func membershipChanged(conversationID: Int64)
}
