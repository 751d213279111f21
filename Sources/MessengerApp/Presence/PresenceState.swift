import Foundation

/// Whether a user is online, and when they were last seen (the last time their last stream closed).
public struct PresenceState: Sendable, Equatable {
    public var online: Bool
    public var lastSeenAt: Date?

    public init(online: Bool, lastSeenAt: Date?) {
        self.online = online
        self.lastSeenAt = lastSeenAt
    }
}
