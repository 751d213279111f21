import Foundation

/// The shared online set (which live instance has a stream of which user) and when users were last seen.
public protocol PresenceRepository: Sendable {
    /// Records this instance as alive (insert or refresh its heartbeat).
    func heartbeat(instance: String) async throws
    /// Removes this instance and its online rows; returns the users no instance has online any more (their
    /// `lastSeenAt` is set to now).
    func unregister(instance: String) async throws -> [Int64]
    /// Removes instances whose heartbeat is older than `deadAfter` (they died without saying goodbye) and their rows;
    /// returns the users no instance has online any more (their `lastSeenAt` is set to now).
    func reapDeadInstances(deadAfter: Duration) async throws -> [Int64]
    /// The users have a stream on `instance`.
    func markOnline(userIDs: [Int64], instance: String) async throws
    /// The user has no stream on `instance` any more; returns whether they are now offline everywhere (then their
    /// `lastSeenAt` is set to now).
    func markOffline(userID: Int64, instance: String, deadAfter: Duration) async throws -> Bool
    /// Presence of these users as seen now.
    func presence(of userIDs: [Int64], deadAfter: Duration) async throws -> [Int64: PresenceState]
    /// For each of the viewers, the presence of everybody who shares a conversation with them (a viewer without
    /// contacts has no entry): one statement for a whole crowd of streams opening.
    func contactsPresence(of viewers: [Int64], deadAfter: Duration) async throws -> [Int64: [Int64: PresenceState]]
    /// For each of the users, everybody who shares a conversation with them.
    func contacts(of userIDs: [Int64]) async throws -> [Int64: [Int64]]
    /// The user's name when they take part in the conversation, else nil (who may send typing to it).
    func participantName(userID: Int64, conversationID: Int64) async throws -> String?
}
