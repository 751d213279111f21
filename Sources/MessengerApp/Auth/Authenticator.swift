import Foundation
import Hummingbird
import Synchronization

/// Turns a bearer token into an ``Identity``: signature and expiry by ``TokenService``, session state by the
/// repository behind a short-lived ``SessionCache``.
public final class Authenticator: Sendable {
    public let tokens: TokenService
    let users: any UserRepository
    public let sessions: SessionCache
    /// Tokens whose signature was already checked: verifying HS256 and decoding claims on every request of a busy
    /// client is wasted work. Expiry and session state are still checked on every request.
    private let verified = Mutex<[String: Identity]>([:])

    public init(tokens: TokenService, users: any UserRepository, sessions: SessionCache) {
        self.tokens = tokens
        self.users = users
        self.sessions = sessions
    }

    /// The identity for `token`, or nil for anything not currently valid.
    public func authenticate(_ token: String) async throws -> Identity? {
        guard let identity = await self.verifiedIdentity(token), identity.expiresAt > Date() else { return nil }
        if let valid = self.sessions.lookup(identity.sessionID) {
            return valid ? identity : nil
        }
        let valid = try await self.users.isSessionValid(sessionID: identity.sessionID, userID: identity.userID)
        self.sessions.store(identity.sessionID, valid: valid)
        return valid ? identity : nil
    }

    private func verifiedIdentity(_ token: String) async -> Identity? {
        if let cached = self.verified.withLock({ $0[token] }) { return cached }
        guard let identity = await self.tokens.verify(token) else { return nil }
        self.verified.withLock { cache in
            if cache.count >= 20_000 { cache.removeAll(keepingCapacity: true) }
            cache[token] = identity
        }
        return identity
    }

    /// The token from `Authorization: Bearer …`, else from the `token` query parameter (EventSource cannot set
    /// headers).
    public static func token(from request: Request) -> String? {
        if let header = request.headers[.authorization] { return Self.token(authorization: header) }
        return request.uri.queryParameters["token"].map(String.init)
    }

    /// The token of an `Authorization` header value (`Bearer …`), nil for another scheme.
    static func token(authorization header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]) }
        return nil
    }
}
