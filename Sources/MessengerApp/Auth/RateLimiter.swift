import Foundation
import Synchronization

/// A fixed-window counter per key (username, client address): at most `limit` hits a window.
public final class RateLimiter: Sendable {
    let limit: Int
    let window: TimeInterval
    private let state = Mutex<[String: (start: TimeInterval, count: Int)]>([:])

    public init(limit: Int, window: TimeInterval = 60) {
        self.limit = limit
        self.window = window
    }

    /// Counts a hit; returns the seconds to wait when over the limit, nil when allowed.
    public func hit(_ key: String, now: TimeInterval = Date().timeIntervalSince1970) -> Int? {
        self.state.withLock { entries in
            if entries.count > 100_000 {
                entries = entries.filter { now - $0.value.start < self.window }
            }
            var entry = entries[key] ?? (now, 0)
            if now - entry.start >= self.window { entry = (now, 0) }
            entry.count += 1
            entries[key] = entry
            guard entry.count > self.limit else { return nil }
            return max(1, Int((entry.start + self.window - now).rounded(.up)))
        }
    }
}
