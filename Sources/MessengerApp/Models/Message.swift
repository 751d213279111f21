/// A message: `{"id","content","conversationId","createdAt","mine","user","clientId"?,"editedAt"?,"deleted"?}`.
/// A deleted message is a tombstone: `deleted: true` and empty `content`.
public struct Message: Codable, Sendable, Equatable {
    public var id: String
    public var content: String
    public var conversationId: String
    public var createdAt: String
    /// True when the requesting (or receiving) user sent it.
    public var mine: Bool
    public var user: User
    public var clientId: String?
    /// When the author last edited it; absent when never edited.
    public var editedAt: String?
    /// `true` for a deleted message (a tombstone); absent otherwise.
    public var deleted: Bool?

    public init(
        id: Int64,
        content: String,
        conversationID: Int64,
        createdAt: String,
        mine: Bool,
        user: User,
        clientID: String?,
        editedAt: String? = nil,
        deleted: Bool = false
    ) {
        self.id = String(id)
        self.content = content
        self.conversationId = String(conversationID)
        self.createdAt = createdAt
        self.mine = mine
        self.user = user
        self.clientId = clientID
        self.editedAt = editedAt
        self.deleted = deleted ? true : nil
    }
}
