/// A user row, including what only the server may see.
public struct UserRecord: Sendable {
    public var id: Int64
    public var username: String
    public var avatarURL: String?
    public var passwordHash: String?

    public var user: User { User(id: self.id, username: self.username, avatarURL: self.avatarURL) }
}
