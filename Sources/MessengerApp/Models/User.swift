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

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.username, forKey: .username)
        // The tutorial always sends the key, as null when unset.
        try container.encode(self.avatarURL, forKey: .avatarURL)
    }
}
