import CLibPQ

/// The rows a statement returned. Owns the libpq result and frees it when released.
public final class PostgresRows: @unchecked Sendable, RandomAccessCollection {
    // A PGresult is immutable once returned and libpq documents read access from any thread as safe.
    let result: OpaquePointer?
    /// Number of rows changed by an INSERT/UPDATE/DELETE without RETURNING.
    public let affectedRows: Int
    public let startIndex = 0
    public let endIndex: Int
    /// Column names, in order.
    public let columns: [String]

    init(result: OpaquePointer?) {
        self.result = result
        guard let result else {
            self.endIndex = 0
            self.affectedRows = 0
            self.columns = []
            return
        }
        self.endIndex = Int(PQntuples(result))
        self.affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
        self.columns = (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) }
    }

    deinit {
        if let result { PQclear(result) }
    }

    public subscript(position: Int) -> PostgresRow {
        PostgresRow(rows: self, index: position)
    }

    /// The first row, if any.
    public var first: PostgresRow? { self.isEmpty ? nil : self[0] }
}
