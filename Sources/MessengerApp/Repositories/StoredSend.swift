import Foundation

/// What the send statement reports for a message it inserted.
struct StoredSend: Sendable {
    var id: Int64
    var createdAt: Date
    var username: String
    var avatarURL: String?
    /// The conversation's activity copies may lag (see ``PostgresConversationRepository/bringCopiesForward(conversationID:)``).
    var missedCopies: Bool
}
