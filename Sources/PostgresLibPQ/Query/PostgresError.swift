/// An error from PostgreSQL or from this wrapper.
///
/// The server's message is kept in ``serverMessage`` for logs, but ``description`` is deliberately generic so that
/// database error text never reaches an HTTP client by accident (the same choice as postgres-nio's `PSQLError`).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarse enough for the domain layer to switch over.
    public enum Kind: Sendable, Equatable {
        /// The server rejected the statement; see ``PostgresError/sqlState``.
        case server
        /// The connection could not be opened or was lost.
        case connection
        /// No connection could be had from the pool in time.
        case poolTimeout
        /// The pool or listener has been shut down.
        case shutdown
        /// A bound value cannot be sent (for example text with a NUL byte).
        case invalidBind
        /// A column could not be decoded into the requested Swift type.
        case decoding
    }

    public var kind: Kind
    /// The five-character SQLSTATE code, when the server sent one.
    public var sqlState: String?
    /// The server's (or libpq's) message. For logs only.
    public var serverMessage: String
    /// The name of the violated constraint, when the server sent one.
    public var constraintName: String?

    public init(kind: Kind, sqlState: String? = nil, serverMessage: String, constraintName: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.serverMessage = serverMessage
        self.constraintName = constraintName
    }

    public var description: String {
        switch self.kind {
        case .server: "PostgreSQL error \(self.sqlState ?? "?????")"
        case .connection: "PostgreSQL connection error"
        case .poolTimeout: "timed out waiting for a PostgreSQL connection"
        case .shutdown: "PostgreSQL client is shut down"
        case .invalidBind: "invalid bind value"
        case .decoding: "PostgreSQL decoding error"
        }
    }

    /// The full text, including the server's message, for logs and tests.
    public var debugDescription: String {
        "\(self.description): \(self.serverMessage)"
    }

    /// SQLSTATE 23505.
    public var isUniqueViolation: Bool { self.sqlState == "23505" }
    /// True when the connection is gone and the statement was not necessarily executed.
    public var isConnectionError: Bool {
        self.kind == .connection || (self.sqlState.map { $0.hasPrefix("08") || $0 == "57P01" || $0 == "57P02" || $0 == "57P03" } ?? false)
    }
}
