/// A `NOTIFY` received by a ``PostgresListener``.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The notifying backend's process id.
    public var senderPID: Int32
}

/// What a ``PostgresListener`` reports to its consumer.
public enum PostgresListenerEvent: Sendable, Equatable {
    /// The listener is connected and listening. `isReconnect` is true after a lost connection came back:
    /// notifications sent in between are gone, so the consumer must catch up from its tables.
    case listening(isReconnect: Bool)
    case notification(PostgresNotification)
}
