import Foundation

/// Session checks in batches.
///
/// Why: a session not in the cache costs a statement, and the moment many are missing at once is exactly when the
/// database is busiest: a reconnect storm after a deploy or a network blip, when every client's streams and first
/// requests arrive together and every cache is cold (a user's five tabs even asked five times). Here one read runs at
/// a time and answers, in one statement, every check that was asked before it began; a lone request still waits for
/// one statement, as before.
///
/// A check is only answered by a read that began after it was asked, so the answer is as new as one of its own: a
/// logout that committed before the request was checked is seen.
extension Authenticator {
    private struct Pair: Hashable {
        var sessionID: UUID
        var userID: Int64
    }

    /// The most checks one read answers; more wait for the next.
    static let sessionCheckBatchLimit = 1_000

    /// Whether the identity's session is valid now (exists, belongs to the user, not revoked, not expired); the
    /// answer is remembered in the session cache.
    func checkSession(_ identity: Identity) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let startReading = self.sessionChecks.withLock { checks -> Bool in
                checks.waiting.append((identity, continuation))
                guard !checks.reading else { return false }
                checks.reading = true
                return true
            }
            if startReading { Task { await self.checkSessionsWhileWaiting() } }
        }
    }

    /// Reads for every check waiting, then for whichever were asked meanwhile, until none waits.
    private func checkSessionsWhileWaiting() async {
        while true {
            let batch = self.sessionChecks.withLock { checks in
                guard !checks.waiting.isEmpty else {
                    checks.reading = false
                    return ArraySlice<(identity: Identity, continuation: CheckedContinuation<Bool, any Error>)>()
                }
                let count = min(checks.waiting.count, Self.sessionCheckBatchLimit)
                defer { checks.waiting.removeFirst(count) }
                return checks.waiting.prefix(count)
            }
            guard !batch.isEmpty else { return }
            let asked = Set(batch.map { Pair(sessionID: $0.identity.sessionID, userID: $0.identity.userID) })
            do {
                let valid = try await self.users.validSessions(of: asked.map { ($0.sessionID, $0.userID) })
                for pair in asked { self.sessions.store(pair.sessionID, valid: valid[pair.sessionID] == pair.userID) }
                for check in batch {
                    check.continuation.resume(returning: valid[check.identity.sessionID] == check.identity.userID)
                }
            } catch {
                for check in batch { check.continuation.resume(throwing: error) }
            }
        }
    }
}
