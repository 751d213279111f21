import Foundation

/// Users and their sessions.
public protocol UserRepository: Sendable {
    /// Creates a user; nil when the name is taken (in any case).
    func create(username: String, passwordHash: String?) async throws -> UserRecord?
    /// The user with this name, compared case-insensitively.
    func find(username: String) async throws -> UserRecord?
    func find(id: Int64) async throws -> UserRecord?
    /// Dev login: the user with this name, created without a password on first use.
    func findOrCreate(username: String) async throws -> UserRecord
    /// Usernames starting with `prefix` (case-insensitive, matched literally), excluding one user.
    func search(prefix: String, excluding userID: Int64, limit: Int) async throws -> [String]

    func createSession(userID: Int64, expiresAt: Date) async throws -> UUID
    /// Of these sessions, the ones that exist, belong to the given user, are not revoked and have not expired, each
    /// with its user: one statement for however many requests are waiting on a check.
    func validSessions(of sessions: [(sessionID: UUID, userID: Int64)]) async throws -> [UUID: Int64]
    /// The sessions among `ids` that are still valid (not revoked, not expired, not deleted).
    func validSessions(among ids: [UUID]) async throws -> Set<UUID>
    func extendSession(sessionID: UUID, expiresAt: Date) async throws
    func revokeSession(sessionID: UUID) async throws
}
