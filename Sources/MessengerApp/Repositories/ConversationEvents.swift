/// What the conversation layer tells the realtime layer after a commit. The conversation code knows nothing about
/// SSE: the realtime layer implements this. The calls carry no ids because the realtime layer reads the committed
/// rows itself, in the stream's committed order (README), instead of trusting what a caller says it wrote.
public protocol ConversationEvents: Sendable {
    /// A message was committed.
    func messageCreated()
    /// A participant's read position moved.
    func messagesRead()
    /// A message was edited or deleted.
    func messageChanged()
    /// A conversation was created or its membership changed.
    func membershipChanged()
}
