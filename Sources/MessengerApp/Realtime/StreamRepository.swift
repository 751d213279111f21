/// Reads the stream's committed order from the database.
public protocol StreamRepository: Sendable {
    /// The position before everything not yet complete: a starting point that misses nothing.
    func currentPosition() async throws -> StreamPosition
    /// Events of every conversation after `position`, complete prefix only, in order; and whether later events
    /// of ours exist that are not complete yet (so the caller should look again soon).
    func events(after position: StreamPosition, limit: Int) async throws -> StreamBatch
    /// Events one user may see after `position`, complete prefix only, in order.
    func events(forUser userID: Int64, after position: StreamPosition, limit: Int) async throws -> StreamBatch
    /// Roughly how many events were written after `position` (cheap: it bounds the cost of a replay); nil when the
    /// position lies beyond what this database has written (a restored backup, another database).
    func eventsWritten(after position: StreamPosition) async throws -> Int64?
    /// Who holds the horizon at `tx` (for the log), nil when nobody does any more.
    func describeHolder(ofHorizon tx: UInt64) async throws -> String?
    /// Whether another server instance listens for stream notifications on this database.
    func otherListeners(excluding pid: Int32) async throws -> Bool
    /// The conversation's current participants.
    func participants(conversationID: Int64) async throws -> [Int64]
    /// This database's stream identity, part of the key that signs positions.
    func identityToken() async throws -> String
}
