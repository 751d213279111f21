import PostgresLibPQ

/// A ``PostgresError`` raised by a test's own database work, printed with the server's (or libpq's) message so a
/// failure names its cause (``TestCluster/offPool(_:)``).
public struct PostgresTestError: Error, CustomStringConvertible {
    /// The error as the wrapper raised it.
    public let error: PostgresError

    public var description: String { self.error.debugDescription }
}
