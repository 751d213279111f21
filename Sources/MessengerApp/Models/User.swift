/// A user as the API shows it: `{"id": "1", "username": "john", "avatarURL": null}`.
public struct User: Codable, Sendable, Equatable {
    public var id: String
    public var username: String
    public var avatarURL: String?

    public init(id: Int64, username: String, avatarURL: String?) {
        self.id = String(id)
        self.username = username
        self.avatarURL = avatarURL
    }
}
