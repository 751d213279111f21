extension PostgresConnectionPool {
    /// Runs one statement on a connection lent by ``withConnection(_:)``, off the event loops.
    @discardableResult
    public func query(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> PostgresRows {
        try await self.runBlocking { try connection.query(query) }
    }

    /// Runs code-written SQL (several statements, no binds) on a lent connection, off the event loops.
    @discardableResult
    public func unsafeExecute(_ sql: String, on connection: PostgresConnection) async throws -> PostgresRows {
        try await self.runBlocking { try connection.unsafeExecute(sql) }
    }
}
