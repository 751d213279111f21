extension PostgresConnectionPool {
    /// Runs one statement on a connection lent by ``withConnection(_:)``.
    @discardableResult
    public func query(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> PostgresRows {
        try await connection.query(query, poller: self.poller)
    }

    /// Runs code-written SQL (several statements, no binds) on a lent connection.
    @discardableResult
    public func unsafeExecute(_ sql: String, on connection: PostgresConnection) async throws -> PostgresRows {
        try await connection.unsafeExecute(sql, poller: self.poller)
    }
}
