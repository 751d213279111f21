import CLibPQ

/// One row of a ``PostgresRows`` result.
public struct PostgresRow: Sendable {
    @usableFromInline let rows: PostgresRows
    @usableFromInline let index: Int

    /// The number of columns.
    public var columnCount: Int { self.rows.columns.count }

    /// Decodes the column at `column` (0-based).
    ///
    /// Inlinable, like the tuple form below, so callers get it specialized for their types: called through the
    /// generic entry point, every column cost a runtime metadata lookup (`Optional<T>`) and witness-table calls —
    /// ~16% of the server's CPU on a page of conversations (22 columns × 25 rows). The libpq calls stay behind
    /// ``cell(_:)``.
    @inlinable
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at column: Int) throws(PostgresError) -> T {
        guard let bytes = try self.cell(column) else {
            guard let null = T.postgresNull else { throw self.nullError(column, typeName: T.postgresTypeName) }
            return null
        }
        guard let value = T.decode(postgresText: bytes) else { throw self.decodingError(column, typeName: T.postgresTypeName) }
        return value
    }

    /// The text of the value at `column`, nil for SQL `NULL`. Valid while the rows live (the caller holds them).
    @usableFromInline
    func cell(_ column: Int) throws(PostgresError) -> UnsafeBufferPointer<UInt8>? {
        guard let result = self.rows.result, column >= 0, column < self.rows.columns.count else {
            throw PostgresError(kind: .decoding, serverMessage: "no column at index \(column)")
        }
        let row = Int32(self.index)
        let field = Int32(column)
        if PQgetisnull(result, row, field) == 1 { return nil }
        let length = Int(PQgetlength(result, row, field))
        // libpq's `char *`, read as bytes (Int8 and UInt8 may alias).
        guard let value = PQgetvalue(result, row, field) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self), count: length)
    }

    @usableFromInline
    func nullError(_ column: Int, typeName: String) -> PostgresError {
        PostgresError(
            kind: .decoding,
            serverMessage: "column '\(self.rows.columns[column])' (index \(column)) is NULL, cannot decode as \(typeName)"
        )
    }

    @usableFromInline
    func decodingError(_ column: Int, typeName: String) -> PostgresError {
        let text = self.rows.result.flatMap { PQgetvalue($0, Int32(self.index), Int32(column)) }.map { String(cString: $0) } ?? ""
        return PostgresError(
            kind: .decoding,
            serverMessage: "column '\(self.rows.columns[column])' (index \(column)): cannot decode \(text.prefix(40).debugDescription) as \(typeName)"
        )
    }

    /// Decodes the column named `name`.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, column name: String) throws(PostgresError) -> T {
        guard let column = self.rows.columns.firstIndex(of: name) else {
            throw PostgresError(kind: .decoding, serverMessage: "no column named '\(name)'")
        }
        return try self.decode(type, at: column)
    }

    /// Decodes the leading columns into a tuple: `let (id, name) = try row.decode((Int64, String).self)`.
    @inlinable
    public func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type, from start: Int = 0) throws(PostgresError) -> (repeat each T) {
        var column = start
        return (repeat try self.decode((each T).self, next: &column))
    }

    /// The column at `column`, which then moves to the next: one element of the tuple form.
    @inlinable
    func decode<T: PostgresDecodable>(_ type: T.Type, next column: inout Int) throws(PostgresError) -> T {
        defer { column += 1 }
        return try self.decode(T.self, at: column)
    }

    // The tuple form for 2 to 8 columns without a parameter pack. The optimizer does not specialize a pack's
    // elements: through the variadic form above every column went through the generic `decode(_:at:)` and a runtime
    // metadata lookup (~24% of the server's CPU on a page of conversations, `perf`). Overload resolution prefers
    // these to the variadic form; it remains for longer tuples.

    @inlinable
    public func decode<A: PostgresDecodable, B: PostgresDecodable>(_ types: (A, B).Type, from start: Int = 0) throws(PostgresError) -> (A, B) {
        (try self.decode(A.self, at: start + 0), try self.decode(B.self, at: start + 1))
    }

    @inlinable
    public func decode<A: PostgresDecodable, B: PostgresDecodable, C: PostgresDecodable>(_ types: (A, B, C).Type, from start: Int = 0)
        throws(PostgresError) -> (A, B, C)
    {
        (try self.decode(A.self, at: start + 0), try self.decode(B.self, at: start + 1), try self.decode(C.self, at: start + 2))
    }

    @inlinable
    public func decode<A: PostgresDecodable, B: PostgresDecodable, C: PostgresDecodable, D: PostgresDecodable>(
        _ types: (A, B, C, D).Type, from start: Int = 0
    ) throws(PostgresError) -> (A, B, C, D) {
        (
            try self.decode(A.self, at: start + 0), try self.decode(B.self, at: start + 1), try self.decode(C.self, at: start + 2),
            try self.decode(D.self, at: start + 3)
        )
    }

    @inlinable
    public func decode<A: PostgresDecodable, B: PostgresDecodable, C: PostgresDecodable, D: PostgresDecodable, E: PostgresDecodable>(
        _ types: (A, B, C, D, E).Type, from start: Int = 0
    ) throws(PostgresError) -> (A, B, C, D, E) {
        (
            try self.decode(A.self, at: start + 0), try self.decode(B.self, at: start + 1), try self.decode(C.self, at: start + 2),
            try self.decode(D.self, at: start + 3), try self.decode(E.self, at: start + 4)
        )
    }

    @inlinable
    public func decode<
        A: PostgresDecodable, B: PostgresDecodable, C: PostgresDecodable, D: PostgresDecodable, E: PostgresDecodable, F: PostgresDecodable
    >(_ types: (A, B, C, D, E, F).Type, from start: Int = 0) throws(PostgresError) -> (A, B, C, D, E, F) {
        (
            try self.decode(A.self, at: start + 0), try self.decode(B.self, at: start + 1), try self.decode(C.self, at: start + 2),
            try self.decode(D.self, at: start + 3), try self.decode(E.self, at: start + 4), try self.decode(F.self, at: start + 5)
        )
    }

    @inlinable
    public func decode<
        A: PostgresDecodable, B: PostgresDecodable, C: PostgresDecodable, D: PostgresDecodable, E: PostgresDecodable, F: PostgresDecodable,
        G: PostgresDecodable
    >(_ types: (A, B, C, D, E, F, G).Type, from start: Int = 0) throws(PostgresError) -> (A, B, C, D, E, F, G) {
        (
            try self.decode(A.self, at: start + 0), try self.decode(B.self, at: start + 1), try self.decode(C.self, at: start + 2),
            try self.decode(D.self, at: start + 3), try self.decode(E.self, at: start + 4), try self.decode(F.self, at: start + 5),
            try self.decode(G.self, at: start + 6)
        )
    }

    @inlinable
    public func decode<
        A: PostgresDecodable, B: PostgresDecodable, C: PostgresDecodable, D: PostgresDecodable, E: PostgresDecodable, F: PostgresDecodable,
        G: PostgresDecodable, H: PostgresDecodable
    >(_ types: (A, B, C, D, E, F, G, H).Type, from start: Int = 0) throws(PostgresError) -> (A, B, C, D, E, F, G, H) {
        (
            try self.decode(A.self, at: start + 0), try self.decode(B.self, at: start + 1), try self.decode(C.self, at: start + 2),
            try self.decode(D.self, at: start + 3), try self.decode(E.self, at: start + 4), try self.decode(F.self, at: start + 5),
            try self.decode(G.self, at: start + 6), try self.decode(H.self, at: start + 7)
        )
    }
}
