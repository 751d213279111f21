import CLibPQ

/// One row of a ``PostgresRows`` result.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    /// The number of columns.
    public var columnCount: Int { self.rows.columns.count }

    /// Decodes the column at `column` (0-based).
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at column: Int) throws(PostgresError) -> T {
        guard let result = self.rows.result, column >= 0, column < self.rows.columns.count else {
            throw PostgresError(kind: .decoding, serverMessage: "no column at index \(column)")
        }
        let row = Int32(self.index)
        let field = Int32(column)
        if PQgetisnull(result, row, field) == 1 {
            guard let null = T.postgresNull else {
                throw PostgresError(
                    kind: .decoding,
                    serverMessage: "column '\(self.rows.columns[column])' (index \(column)) is NULL, cannot decode as \(T.postgresTypeName)"
                )
            }
            return null
        }
        let length = Int(PQgetlength(result, row, field))
        let value: T? = PQgetvalue(result, row, field).withMemoryRebound(to: UInt8.self, capacity: length) {
            T.decode(postgresText: UnsafeBufferPointer(start: $0, count: length))
        }
        guard let value else {
            let text = PQgetvalue(result, row, field).map { String(cString: $0) } ?? ""
            throw PostgresError(
                kind: .decoding,
                serverMessage:
                    "column '\(self.rows.columns[column])' (index \(column)): cannot decode \(text.prefix(40).debugDescription) as \(T.postgresTypeName)"
            )
        }
        return value
    }

    /// Decodes the column named `name`.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, column name: String) throws(PostgresError) -> T {
        guard let column = self.rows.columns.firstIndex(of: name) else {
            throw PostgresError(kind: .decoding, serverMessage: "no column named '\(name)'")
        }
        return try self.decode(type, at: column)
    }

    /// Decodes the leading columns into a tuple: `let (id, name) = try row.decode((Int64, String).self)`.
    public func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type, from start: Int = 0) throws(PostgresError) -> (repeat each T) {
        var column = start
        func next<U: PostgresDecodable>(_ type: U.Type) throws(PostgresError) -> U {
            defer { column += 1 }
            return try self.decode(U.self, at: column)
        }
        return (repeat try next((each T).self))
    }
}
