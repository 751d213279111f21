import Foundation
import Synchronization

/// Remembers session checks for a short time so the guard does not cost a database round trip on every request.
///
/// A logout is seen at once on the instance that handled it (the entry is dropped) and on other instances when
/// the logout notification arrives; without it, after at most ``ttl``.
public final class SessionCache: Sendable {
    let ttl: TimeInterval
    private let entries = Mutex<[UUID: (valid: Bool, checkedAt: TimeInterval)]>([:])

    public init(ttl: Duration) {
        self.ttl = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
    }

    /// The cached answer, nil when unknown or stale.
    public func lookup(_ sessionID: UUID, now: TimeInterval = Date().timeIntervalSince1970) -> Bool? {
        self.entries.withLock { entries in
            guard let entry = entries[sessionID], now - entry.checkedAt < self.ttl else { return nil }
            return entry.valid
        }
    }

    /// Records a check. A session that ended never comes back, so a "valid" answer never replaces a revocation
    /// (a check that started before a logout may finish after it).
    public func store(_ sessionID: UUID, valid: Bool, now: TimeInterval = Date().timeIntervalSince1970) {
        self.entries.withLock { entries in
            if entries.count > 50_000 {
                entries = entries.filter { now - $0.value.checkedAt < self.ttl || !$0.value.valid }
                if entries.count > 50_000 { entries.removeAll() }
            }
            if valid, let existing = entries[sessionID], !existing.valid { return }
            entries[sessionID] = (valid, now)
        }
    }

    /// Marks a session dead (logout).
    public func revoke(_ sessionID: UUID) {
        self.store(sessionID, valid: false, now: Date().timeIntervalSince1970 + 365 * 86_400)
    }

    /// Whether this process knows the session ended.
    public func isRevoked(_ sessionID: UUID) -> Bool {
        self.entries.withLock { $0[sessionID].map { !$0.valid } ?? false }
    }
}
