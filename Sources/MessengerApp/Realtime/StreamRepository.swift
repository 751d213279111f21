/// Reads the stream's committed order from the database.
public protocol StreamRepository: Sendable {
    /// The position before everything not yet complete: a starting point that misses nothing.
    func currentPosition() async throws -> StreamPosition
    /// Events of every conversation after `position`, complete prefix only, in order; and whether later events
    /// exist that are not complete yet (so the caller should look again soon).
    func events(after position: StreamPosition, limit: Int) async throws -> (events: [StreamEvent], pending: Bool)
    /// Events one user may see after `position`, complete prefix only, in order.
    func events(forUser userID: Int64, after position: StreamPosition, limit: Int) async throws -> [StreamEvent]
    /// Whether another server instance listens for stream notifications on this database.
    func otherListeners(excluding pid: Int32) async throws -> Bool
    /// The conversation's current participants.
    func participants(conversationID: Int64) async throws -> [Int64]
}
