/// A SQL statement and its bound parameters.
///
/// Built by string interpolation, every interpolated value becomes a bind (`$1`, `$2`, …), never SQL text:
///
/// ```swift
/// let query: PostgresQuery = "SELECT id FROM users WHERE lower(username) = lower(\(name))"
/// ```
///
/// The only way to put raw text into the statement is ``init(unsafeSQL:)`` or the `unsafeRaw:` interpolation,
/// whose names say what they are.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The statement with `$n` placeholders.
    public var sql: String
    /// The parameters, in text format; `nil` is SQL `NULL`.
    public var binds: [String?]
    /// A bind that could not be encoded; thrown when the query runs, so building a query never throws.
    var bindError: PostgresError?

    public init(stringLiteral value: String) {
        self.sql = value
        self.binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
        self.bindError = stringInterpolation.bindError
    }

    /// A statement taken verbatim. Never pass user input here.
    public init(unsafeSQL sql: String, binds: [String?] = []) {
        self.sql = sql
        self.binds = binds
    }

    public static func == (lhs: PostgresQuery, rhs: PostgresQuery) -> Bool {
        lhs.sql == rhs.sql && lhs.binds == rhs.binds
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.sql)
        hasher.combine(self.binds)
    }

    /// Collects literal SQL and turns interpolated values into binds.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var binds: [String?]
        var bindError: PostgresError?

        public init(literalCapacity: Int, interpolationCount: Int) {
            self.sql = ""
            self.sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            self.binds = []
            self.binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            self.sql += literal
        }

        /// Appends `$n` and binds the value.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value) {
            do {
                self.binds.append(try value.postgresText())
            } catch {
                self.bindError = self.bindError ?? error
                self.binds.append(nil)
            }
            self.sql += "$\(self.binds.count)"
        }

        /// Appends raw SQL text. Only for identifiers and fragments written in code, never for user input.
        public mutating func appendInterpolation(unsafeRaw text: String) {
            self.sql += text
        }
    }
}
