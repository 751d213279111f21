import Foundation
import PostgresTestSupport
import Testing

@testable import PostgresLibPQ

/// `PostgresTimestamp.format` writes fixed-width digits into the string's buffer: its text must be what C's `printf`
/// makes of the same civil fields, and PostgreSQL must read it back as the same instant.
@Suite("Timestamps written by hand")
struct TimestampFormatTests {
    /// Edges of the fixed-width range, the epoch from both sides, rounding up into the next second, and dates spread
    /// over the years in between.
    static let dates: [Date] = {
        var seconds: [Double] = [
            0, -0.5, -1, -0.0000004, 1.9999996, 59.9999995, 1_795_710_096.132377, 1_795_710_096.5,
            951_782_400,  // 2000-02-29
            -62_135_596_800,  // 0001-01-01
            -62_167_219_200,  // 0000-01-01
            253_402_300_799.999999,  // 9999-12-31 23:59:59.999999
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            seconds.append(
                Double.random(in: -62_167_219_200...253_402_300_799, using: &generator).rounded() + Double(Int.random(in: 0..<1_000_000)) / 1_000_000)
        }
        return seconds.map { Date(timeIntervalSince1970: $0) }
    }()

    @Test("the text is printf's of the same fields, in both of the server's formats; other years are written whole")
    func matchesPrintf() {
        for date in Self.dates {
            let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
            let seconds = micros >= 0 || micros % 1_000_000 == 0 ? micros / 1_000_000 : micros / 1_000_000 - 1
            let fraction = Int(micros - seconds * 1_000_000)
            let (year, month, day, hour, minute, second) = PostgresTimestamp.civil(fromUnixSeconds: seconds)
            let fields = String(format: "%04d-%02d-%02d?%02d:%02d:%02d.%06d", year, month, day, hour, minute, second, fraction)
            #expect(PostgresTimestamp.format(date, separator: "T", zone: "Z") == fields.replacingOccurrences(of: "?", with: "T") + "Z")
            #expect(PostgresTimestamp.format(date, separator: " ", zone: "+00") == fields.replacingOccurrences(of: "?", with: " ") + "+00")
        }
        #expect(
            PostgresTimestamp.format(Date(timeIntervalSince1970: 1_795_710_096.132377), separator: "T", zone: "Z") == "2026-11-26T16:21:36.132377Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 1.9999996), separator: "T", zone: "Z") == "1970-01-01T00:00:02.000000Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -0.5), separator: " ", zone: "+00") == "1969-12-31 23:59:59.500000+00")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 253_402_300_800), separator: "T", zone: "Z") == "10000-01-01T00:00:00.000000Z")
    }

    @Test("PostgreSQL reads the text back as the same instant")
    func roundTripsThroughPostgres() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let pool = PostgresConnectionPool(configuration: database, maximumConnections: 1, acquireTimeout: .seconds(10), logger: TestCluster.logger)
        defer { Task { await pool.shutdown() } }
        // Within ±250 years of 1970 a `Date` (a Double) still holds every microsecond exactly.
        let near = Self.dates.filter { abs($0.timeIntervalSince1970) < 7_800_000_000 }
        #expect(near.count > 50)
        for date in near {
            let text = PostgresTimestamp.format(date, separator: " ", zone: "+00")
            let rows = try await pool.query("SELECT (extract(epoch FROM \(text)::timestamptz) * 1000000)::bigint")
            let micros = try rows.first!.decode(Int64.self, at: 0)
            #expect(micros == Int64((date.timeIntervalSince1970 * 1_000_000).rounded()), "\(text)")
        }
    }
}
