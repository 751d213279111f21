import NIOCore

/// One replayable event, encoded once as SSE bytes for every recipient.
public struct StreamEvent: Sendable {
    public enum Kind: String, Sendable {
        case message
        case read
        case created
        case joined
        case left
        /// A message was edited (SSE `message_updated`; the row's kind is `updated`).
        case updated
        /// A message was deleted (SSE `message_deleted`; the row's kind is `deleted`).
        case deleted
    }

    public var position: StreamPosition
    public var kind: Kind
    public var conversationID: Int64
    /// The sender, reader, creator, or the user who joined or left.
    public var actorID: Int64
    /// The SSE frame for the actor (a message with `mine: true`).
    public var actorFrame: ByteBuffer
    /// The SSE frame for everyone else.
    public var othersFrame: ByteBuffer

    /// Whether the event changes who takes part in the conversation.
    public var changesMembership: Bool { self.kind == .created || self.kind == .joined || self.kind == .left }
}
