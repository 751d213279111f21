/// A connection inside `BEGIN … COMMIT`, lent by ``PostgresConnectionPool/withTransaction(_:)``.
public struct PostgresTransaction: Sendable {
    let connection: PostgresConnection
    let pool: PostgresConnectionPool

    /// Runs one statement inside the transaction.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        let connection = self.connection
        return try await self.pool.runBlocking { try connection.query(query) }
    }

    /// Runs SQL text (several statements allowed, no binds) inside the transaction. Code-written SQL only.
    @discardableResult
    public func unsafeExecute(_ sql: String) async throws -> PostgresRows {
        let connection = self.connection
        return try await self.pool.runBlocking { try connection.unsafeExecute(sql) }
    }
}
