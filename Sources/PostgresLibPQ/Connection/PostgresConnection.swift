import CLibPQ
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// One libpq connection. The methods here block: call them from a thread-pool thread, never from an event loop.
/// The pool runs its statements with the non-blocking variants instead (`PostgresConnection+NonBlocking.swift`).
///
/// A connection is used by one thread at a time (the pool guarantees it); libpq is built thread-safe on Debian
/// (`PQisthreadsafe() == 1`), which is what allows moving a connection between threads and tasks.
public final class PostgresConnection: @unchecked Sendable {
    private var conn: OpaquePointer?
    /// Server-side prepared statements by SQL text. Preparing once and executing by name saves the server the parse
    /// and plan work on every hot query.
    private var preparedStatements: [String: String] = [:]
    /// Numbers statement names for the connection's whole life. After 26000/0A000 the map above is cleared but
    /// the server may still hold the old names: reusing `s0` would then fail every new statement with 42P05.
    private var nextStatementNumber = 0
    /// Queues blocking callers that share the connection between threads (they wait here, then pass the gate).
    private let lock = NIOLock()
    /// One statement at a time on `conn`, blocking or not (see ``StatementGate``).
    let gate = StatementGate()
    private let logger: Logger
    /// Set when the server or network has failed; the pool discards such connections.
    public internal(set) var isBroken = false
    /// Increments per connection; used in logs.
    public let id: Int

    /// Opens a connection (blocking).
    public init(configuration: PostgresConfiguration, id: Int = 0, logger: Logger) throws(PostgresError) {
        self.logger = logger
        self.id = id
        var parameters = configuration.parameters
        // Our decoders expect ISO dates in UTC; text results keep the wrapper simple.
        parameters.append(("options", "-c TimeZone=UTC -c DateStyle=ISO -c client_encoding=UTF8"))
        if !parameters.contains(where: { $0.0 == "application_name" }) {
            parameters.append(("application_name", "messenger"))
        }
        if !parameters.contains(where: { $0.0 == "connect_timeout" }) {
            parameters.append(("connect_timeout", "5"))
        }
        let conn = withCStringArrays(parameters.map(\.0) + [nil], parameters.map(\.1) + [nil]) { keywords, values in
            PQconnectdbParams(keywords, values, 1)
        }
        guard let conn else {
            throw PostgresError(kind: .connection, serverMessage: "out of memory opening a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn))
            PQfinish(conn)
            throw PostgresError(kind: .connection, serverMessage: message.trimmingTrailingNewlines)
        }
        self.conn = conn
    }

    /// True when libpq was built thread-safe, which this wrapper requires: the pool hands a connection from one
    /// thread to another, and the listener, notifier and pool threads call libpq at the same time.
    public static var isLibraryThreadSafe: Bool { PQisthreadsafe() == 1 }

    deinit {
        if let conn { PQfinish(conn) }
    }

    /// Closes the connection now.
    public func close() {
        self.lock.lock()
        defer { self.lock.unlock() }
        if let conn { PQfinish(conn) }
        self.conn = nil
        self.isBroken = true
    }

    /// Runs one statement with its binds and returns its rows. Statements are prepared on first use.
    @discardableResult
    public func query(_ query: PostgresQuery) throws(PostgresError) -> PostgresRows {
        if let bindError = query.bindError { throw bindError }
        self.lock.lock()
        defer { self.lock.unlock() }
        try self.enterGateBlocking()
        defer { self.gate.leave() }
        let conn = try self.liveConnection()
        let (name, isPrepared) = self.statementName(for: query.sql)
        if !isPrepared {
            let prepared = PQprepare(conn, name, query.sql, Int32(query.binds.count), nil)
            try self.recordPreparation(prepared, name: name, sql: query.sql)
        }
        let result = withCStringArrays(query.binds, nil) { values, _ in
            PQexecPrepared(conn, name, Int32(query.binds.count), values, nil, nil, 0)
        }
        try self.check(result, sql: query.sql)
        return PostgresRows(result: result)
    }

    /// Runs SQL text with the simple query protocol: several statements are allowed, binds are not.
    /// For migrations and statements written in code only.
    @discardableResult
    public func unsafeExecute(_ sql: String) throws(PostgresError) -> PostgresRows {
        self.lock.lock()
        defer { self.lock.unlock() }
        try self.enterGateBlocking()
        defer { self.gate.leave() }
        let conn = try self.liveConnection()
        let result = PQexec(conn, sql)
        try self.check(result, sql: sql)
        return PostgresRows(result: result)
    }

    /// True when the connection is idle outside any transaction.
    public var isIdle: Bool {
        guard let conn, !self.isBroken else { return false }
        return PQtransactionStatus(conn) == PQTRANS_IDLE
    }

    /// Cheap liveness probe without a round trip. An idle connection outside a query never has anything to read;
    /// when its socket is readable, the server has sent a termination error (restart, `pg_terminate_backend`) or
    /// closed it, so the connection is treated as broken.
    public func probe() -> Bool {
        guard let conn, !self.isBroken, PQstatus(conn) == CONNECTION_OK else { return false }
        var descriptor = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, 0) == 0 { return true }
        self.isBroken = true
        return false
    }

    /// The backend's process id (for `pg_terminate_backend` in tests).
    public var backendPID: Int32 {
        guard let conn else { return 0 }
        return PQbackendPID(conn)
    }

    // MARK: - Internals shared with the listener

    /// A blocking call cannot wait for a statement sent with the non-blocking API on this connection (it would have
    /// to block until that task resumes): mixing the two on one connection at once is refused.
    private func enterGateBlocking() throws(PostgresError) {
        guard self.gate.tryEnter() else {
            throw PostgresError(kind: .connection, serverMessage: "connection is busy with a non-blocking statement")
        }
    }

    var rawConnection: OpaquePointer? { self.conn }

    /// The name `sql` is prepared under, or a new one (never reused, see `nextStatementNumber`) with `isPrepared`
    /// false when it must be prepared first.
    func statementName(for sql: String) -> (name: String, isPrepared: Bool) {
        if let existing = self.preparedStatements[sql] { return (existing, true) }
        defer { self.nextStatementNumber += 1 }
        return ("s\(self.nextStatementNumber)", false)
    }

    /// Checks a preparation's result and, when it succeeded, remembers the statement's name for its SQL.
    func recordPreparation(_ prepared: OpaquePointer?, name: String, sql: String) throws(PostgresError) {
        try self.check(prepared, sql: sql)
        PQclear(prepared)
        self.preparedStatements[sql] = name
    }

    func liveConnection() throws(PostgresError) -> OpaquePointer {
        guard let conn, !self.isBroken else {
            throw PostgresError(kind: .connection, serverMessage: "connection is closed")
        }
        return conn
    }

    /// The one place that turns a libpq result status into a Swift error.
    func check(_ result: OpaquePointer?, sql: String) throws(PostgresError) {
        guard let conn else { throw PostgresError(kind: .connection, serverMessage: "connection is closed") }
        guard let result else {
            self.markBrokenIfNeeded()
            throw PostgresError(kind: .connection, serverMessage: String(cString: PQerrorMessage(conn)).trimmingTrailingNewlines)
        }
        if Self.isSuccess(PQresultStatus(result)) { return }
        let field = { (code: Character) -> String? in
            guard let pointer = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: pointer)
        }
        let sqlState = field("C")
        let message = field("M") ?? String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines
        let detail = field("D").map { " (\($0))" } ?? ""
        let constraint = field("n")
        PQclear(result)
        self.markBrokenIfNeeded()
        // A prepared statement may be gone after a DISCARD or DEALLOCATE, or its plan invalid after a schema
        // change: forget them all and prepare again under new names (see `nextStatementNumber`).
        if sqlState == "26000" || sqlState == "0A000" { self.preparedStatements.removeAll() }
        throw PostgresError(
            kind: self.isBroken ? .connection : .server,
            sqlState: sqlState,
            serverMessage: message + detail,
            constraintName: constraint
        )
    }

    /// True for the statuses of a result that carries no error.
    static func isSuccess(_ status: ExecStatusType) -> Bool {
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN, PGRES_COPY_OUT: true
        default: false
        }
    }

    private func markBrokenIfNeeded() {
        if let conn, PQstatus(conn) != CONNECTION_OK {
            self.isBroken = true
            self.logger.debug("postgres connection lost", metadata: ["connection": "\(self.id)"])
        }
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}

/// Calls `body` with two NULL-terminated-compatible arrays of C strings (nil entries stay NULL).
func withCStringArrays<R>(
    _ first: [String?],
    _ second: [String?]?,
    _ body: ([UnsafePointer<CChar>?], [UnsafePointer<CChar>?]) -> R
) -> R {
    let a = first.map { $0.map { UnsafePointer(strdup($0)!) } }
    let b = (second ?? []).map { $0.map { UnsafePointer(strdup($0)!) } }
    defer {
        for pointer in a { if let pointer { free(UnsafeMutablePointer(mutating: pointer)) } }
        for pointer in b { if let pointer { free(UnsafeMutablePointer(mutating: pointer)) } }
    }
    return body(a, b)
}
