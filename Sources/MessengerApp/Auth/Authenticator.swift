import Foundation
import Hummingbird

/// Turns a bearer token into an ``Identity``: signature and expiry by ``TokenService``, session state by the
/// repository behind a short-lived ``SessionCache``.
public struct Authenticator: Sendable {
    public let tokens: TokenService
    let users: any UserRepository
    public let sessions: SessionCache

    public init(tokens: TokenService, users: any UserRepository, sessions: SessionCache) {
        self.tokens = tokens
        self.users = users
        self.sessions = sessions
    }

    /// The identity for `token`, or nil for anything not currently valid.
    public func authenticate(_ token: String) async throws -> Identity? {
        guard let identity = await self.tokens.verify(token) else { return nil }
        if let valid = self.sessions.lookup(identity.sessionID) {
            return valid ? identity : nil
        }
        let valid = try await self.users.isSessionValid(sessionID: identity.sessionID, userID: identity.userID)
        self.sessions.store(identity.sessionID, valid: valid)
        return valid ? identity : nil
    }

    /// The token from `Authorization: Bearer …`, else from the `token` query parameter (EventSource cannot set
    /// headers).
    public static func token(from request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]) }
            return nil
        }
        return request.uri.queryParameters["token"].map(String.init)
    }
}
