import Foundation

/// Session checks in batches (``BatchedReads``).
///
/// A session not in the cache costs a statement, and the moment many are missing at once is exactly when the
/// database is busiest: a reconnect storm after a deploy or a network blip, when every client's streams and first
/// requests arrive together and every cache is cold (a user's five tabs even asked five times). A check is answered
/// by a read that began after it was asked, so a logout that committed before the request was checked is seen.
extension Authenticator {
    /// Whether the identity's session is valid now (exists, belongs to the user, not revoked, not expired); the
    /// answer is remembered in the session cache.
    func checkSession(_ identity: Identity) async throws -> Bool {
        try await self.sessionReads.answer(for: SessionKey(sessionID: identity.sessionID, userID: identity.userID), on: self) ?? false
    }

    /// One read for a batch: every session asked, valid or not, and each remembered in the session cache.
    func readSessions(_ sessions: Set<SessionKey>) async throws -> [SessionKey: Bool] {
        let valid = try await self.users.validSessions(of: sessions.map { ($0.sessionID, $0.userID) })
        var answers: [SessionKey: Bool] = [:]
        for session in sessions {
            let isValid = valid[session.sessionID] == session.userID
            self.sessions.store(session.sessionID, valid: isValid)
            answers[session] = isValid
        }
        return answers
    }
}
