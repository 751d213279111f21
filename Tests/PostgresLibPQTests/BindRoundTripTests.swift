import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@Suite("Binds and decoding against a real PostgreSQL")
struct BindRoundTripTests {
    @Test(
        "hostile strings round-trip through binds unchanged",
        arguments: [
            "plain", "it's", "\"quoted\"", "back\\slash", "$1", "$1 OR 1=1; DROP TABLE users; --", "'; SELECT pg_sleep(10); --",
            "emoji 😀 and 中文 and é", "\u{202E}rtl", String(repeating: "long-", count: 40_000), "", "E'\\x00'",
        ]
    )
    func hostileStrings(_ value: String) async throws {
        let pool = try await Self.pool()
        defer { Task { await pool.shutdown() } }
        let rows = try await pool.query("SELECT \(value)::text, length(\(value)::text)")
        let (echo, length) = try rows.first!.decode((String, Int).self)
        #expect(echo == value)
        #expect(length == value.count)
    }

    @Test("hostile strings and NULL round-trip as elements of one text array, in order")
    func hostileStringsInAnArray() async throws {
        let pool = try await Self.pool()
        defer { Task { await pool.shutdown() } }
        let values: [String?] = [
            "plain", "\"quoted\"", "back\\slash", "\\\"", "a,b", "{braces}", "NULL", nil, "", " spaced ",
            "emoji 😀 and 中文 and é", "\u{202E}rtl", String(repeating: "\"\\", count: 1_000),
        ]
        let rows = try await pool.query("SELECT t.value FROM unnest(\(values)::text[]) WITH ORDINALITY AS t(value, ord) ORDER BY t.ord")
        #expect(try rows.map { try $0.decode(String?.self, at: 0) } == values)
    }

    @Test("typed round trips")
    func typedRoundTrips() async throws {
        let pool = try await Self.pool()
        defer { Task { await pool.shutdown() } }
        let date = Date(timeIntervalSince1970: 1_764_000_000.123456)
        let data = Data([0, 1, 2, 254, 255])
        let rows = try await pool.query(
            """
            SELECT \(Int64.max)::bigint, \(-42)::int, \(true)::bool, \(3.25)::float8, \(date)::timestamptz,
                   \(data)::bytea, \(Optional<String>.none)::text, \([1, 2, 3] as [Int64])::bigint[]::text
            """
        )
        let (big, small, flag, double, decodedDate, decodedData, missing, array) = try rows.first!.decode(
            (Int64, Int, Bool, Double, Date, Data, String?, String).self
        )
        #expect(big == Int64.max)
        #expect(small == -42)
        #expect(flag)
        #expect(double == 3.25)
        #expect(abs(decodedDate.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000001)
        #expect(decodedData == data)
        #expect(missing == nil)
        #expect(array == "{1,2,3}")
    }

    @Test("decoding errors name the column and the type")
    func decodingErrors() async throws {
        let pool = try await Self.pool()
        defer { Task { await pool.shutdown() } }
        let rows = try await pool.query("SELECT 'abc'::text AS word, NULL::int AS nothing")
        let error = try #require(throws: PostgresError.self) { try rows.first!.decode(Int.self, at: 0) }
        #expect(error.kind == .decoding)
        #expect(error.serverMessage.contains("word"))
        #expect(error.serverMessage.contains("Int"))
        let nullError = try #require(throws: PostgresError.self) { try rows.first!.decode(Int.self, column: "nothing") }
        #expect(nullError.serverMessage.contains("nothing"))
        #expect(nullError.serverMessage.contains("NULL"))
    }

    @Test("NUL bytes in text give a clean error")
    func nulBytes() async throws {
        let pool = try await Self.pool()
        defer { Task { await pool.shutdown() } }
        let error = try await #require(throws: PostgresError.self) {
            try await pool.query("SELECT \("a\u{0}b")::text")
        }
        #expect(error.kind == .invalidBind)
        // The pool is still usable.
        let rows = try await pool.query("SELECT 1")
        #expect(try rows.first!.decode(Int.self, at: 0) == 1)
    }

    @Test("server errors carry SQLSTATE but a generic description")
    func serverErrors() async throws {
        let pool = try await Self.pool()
        defer { Task { await pool.shutdown() } }
        try await pool.query("CREATE TABLE uniq (v text UNIQUE)")
        try await pool.query("INSERT INTO uniq VALUES (\("secret-value"))")
        let error = try await #require(throws: PostgresError.self) {
            try await pool.query("INSERT INTO uniq VALUES (\("secret-value"))")
        }
        #expect(error.isUniqueViolation)
        #expect(error.constraintName == "uniq_v_key")
        #expect(!error.description.contains("secret-value"))
        #expect(!error.description.contains("uniq"))
    }

    static func pool(size: Int = 4, timeout: Duration = .seconds(10)) async throws -> PostgresConnectionPool {
        let database = try await TestCluster.shared.freshDatabase()
        return PostgresConnectionPool(configuration: database, maximumConnections: size, acquireTimeout: timeout, logger: TestCluster.logger)
    }
}
