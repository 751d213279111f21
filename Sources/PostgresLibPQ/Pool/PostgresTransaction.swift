/// A connection inside `BEGIN … COMMIT`, lent by ``PostgresConnectionPool/withTransaction(_:)``.
///
/// Deliberately not `Sendable`: a transaction is one conversation with the server, so its statements run one
/// after another in the task that owns it. Handing it to another task (`async let`, a task group) is a compile
/// error; the connection also serialises its statements, so even a transaction smuggled across tasks cannot put
/// two statements on one `PGconn` at once.
public struct PostgresTransaction {
    let connection: PostgresConnection
    let pool: PostgresConnectionPool

    /// Runs one statement inside the transaction.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await self.connection.query(query, poller: self.pool.poller)
    }

    /// Runs SQL text (several statements allowed, no binds) inside the transaction. Code-written SQL only.
    @discardableResult
    public func unsafeExecute(_ sql: String) async throws -> PostgresRows {
        try await self.connection.unsafeExecute(sql, poller: self.pool.poller)
    }
}

@available(*, unavailable, message: "a transaction belongs to the task that opened it")
extension PostgresTransaction: Sendable {}
