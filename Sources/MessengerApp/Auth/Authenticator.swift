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
    /// Session checks that missed the cache, batched (``checkSession(_:)``).
    let sessionReads = BatchedReads<Authenticator, SessionKey, Bool>(limit: 1_000) { authenticator, sessions in
        try await authenticator.readSessions(sessions)
    }

    /// A session as a token names it: the session and the user it must belong to.
    struct SessionKey: Hashable, Sendable {
        var sessionID: UUID
        var userID: Int64
    }

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
        return try await self.checkSession(identity) ? identity : nil
    }

    private func verifiedIdentity(_ token: String) async -> Identity? {
        if let cached = self.verified.withLock({ $0[token] }) { return cached }
        guard let identity = await self.tokens.verify(token) else { return nil }
        self.cacheVerified(token, identity)
        return identity
    }

    private func cacheVerified(_ token: String, _ identity: Identity) {
        self.verified.withLock { cache in
            if cache.count >= 20_000 { cache.removeAll(keepingCapacity: true) }
            cache[token] = identity
        }
    }

    /// The identity for `token` when it is known without waiting for anything: its signature checked before and its
    /// session checked within the cache's time. Nil means ``authenticate(_:)`` must decide (it may still be valid).
    /// Never waits, so an event loop may ask.
    public func knownIdentity(_ token: String) -> Identity? {
        guard let identity = self.verified.withLock({ $0[token] }), identity.expiresAt > Date(),
            self.sessions.lookup(identity.sessionID) == true
        else { return nil }
        return identity
    }

    /// Remembers a token this process just issued for a session it just created or extended, so the client's next
    /// request (most often opening its stream) needs neither a signature check nor a session read. `identity` is what
    /// verifying the token would give (its `exp` claim holds the same instant, fractional seconds included).
    public func remember(token: String, for identity: Identity) {
        self.cacheVerified(token, identity)
        self.sessions.store(identity.sessionID, valid: true)
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
