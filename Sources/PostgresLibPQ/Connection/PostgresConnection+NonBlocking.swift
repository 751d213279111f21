import CLibPQ

/// Statements through libpq's non-blocking API: the calling task sends, ``PostgresSocketPoller`` reports when the
/// answer has arrived, and the task reads it. No call here blocks, so these run on the cooperative pool.
extension PostgresConnection {
    /// Makes libpq's sends non-blocking (a full socket buffer then leaves data for ``PQflush`` instead of blocking).
    /// The blocking methods keep working: `PQexec` and friends wait for the socket themselves.
    func enableNonBlockingSends() throws(PostgresError) {
        let conn = try self.liveConnection()
        guard PQsetnonblocking(conn, 1) == 0 else {
            throw PostgresError(kind: .connection, serverMessage: String(cString: PQerrorMessage(conn)).trimmingTrailingNewlines)
        }
    }

    /// Runs one statement with its binds and returns its rows; statements are prepared on first use.
    @discardableResult
    public func query(_ query: PostgresQuery, poller: PostgresSocketPoller) async throws(PostgresError) -> PostgresRows {
        if let bindError = query.bindError { throw bindError }
        await self.gate.enter()
        defer { self.gate.leave() }
        let conn = try self.liveConnection()
        let (name, isPrepared) = self.statementName(for: query.sql)
        if !isPrepared {
            let prepared = try await self.exchange(conn, poller: poller) {
                PQsendPrepare(conn, name, query.sql, Int32(query.binds.count), nil)
            }
            try self.recordPreparation(prepared, name: name, sql: query.sql)
        }
        let result = try await self.exchange(conn, poller: poller) {
            withCStringArrays(query.binds, nil) { values, _ in
                PQsendQueryPrepared(conn, name, Int32(query.binds.count), values, nil, nil, 0)
            }
        }
        try self.check(result, sql: query.sql)
        return PostgresRows(result: result)
    }

    /// Runs SQL text with the simple query protocol (several statements allowed, no binds). Code-written SQL only.
    @discardableResult
    public func unsafeExecute(_ sql: String, poller: PostgresSocketPoller) async throws(PostgresError) -> PostgresRows {
        await self.gate.enter()
        defer { self.gate.leave() }
        let conn = try self.liveConnection()
        let result = try await self.exchange(conn, poller: poller) { PQsendQuery(conn, sql) }
        try self.check(result, sql: sql)
        return PostgresRows(result: result)
    }

    /// Sends with `send` (a `PQsend…` call), then collects the answer: the last result, or the first failed one,
    /// as `PQexec` would return it; nil when the connection failed (``check(_:sql:)`` then reports libpq's message).
    private func exchange(
        _ conn: OpaquePointer,
        poller: PostgresSocketPoller,
        send: () -> Int32
    ) async throws(PostgresError) -> OpaquePointer? {
        guard send() == 1 else { return nil }
        let socket = PQsocket(conn)
        // What did not fit into the socket's buffer waits for it to drain; input is read meanwhile, as libpq asks,
        // so a server that is itself blocked on sending cannot deadlock with us.
        while true {
            let flushed = PQflush(conn)
            if flushed == 0 { break }
            if flushed < 0 { return nil }
            try await self.waitForSocket(socket, writable: true, poller: poller)
            if PQconsumeInput(conn) == 0 { return nil }
        }
        var kept: OpaquePointer?
        while true {
            while PQisBusy(conn) == 1 {
                do {
                    try await self.waitForSocket(socket, writable: false, poller: poller)
                } catch {
                    PQclear(kept)
                    throw error
                }
                if PQconsumeInput(conn) == 0 {
                    PQclear(kept)
                    return nil
                }
            }
            guard let result = PQgetResult(conn) else { break }
            let status = PQresultStatus(result)
            if let previous = kept, !Self.isSuccess(PQresultStatus(previous)) {
                PQclear(result)
            } else {
                PQclear(kept)
                kept = result
            }
            // COPY hands the connection to the caller with the statement still open: no end to wait for.
            if status == PGRES_COPY_IN || status == PGRES_COPY_OUT { break }
        }
        return kept
    }

    private func waitForSocket(_ socket: Int32, writable: Bool, poller: PostgresSocketPoller) async throws(PostgresError) {
        if await poller.wait(for: socket, writable: writable) == .stopped {
            // The statement's answer will never be read: the protocol state is unknown, so the connection is done.
            self.isBroken = true
            throw PostgresConnectionPool.shutdownError
        }
    }
}
