/// The answer to a successful login or registration.
public struct AuthOutput: Codable, Sendable {
    public var authUser: User
    public var token: String
    public var expiresAt: String
}

/// The answer to `POST /api/refresh_token`.
public struct TokenOutput: Codable, Sendable {
    public var token: String
    public var expiresAt: String
}
