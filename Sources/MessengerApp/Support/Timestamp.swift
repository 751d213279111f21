import Foundation
import PostgresLibPQ

/// RFC 3339 timestamps with microseconds in UTC, as the API promises (`2026-11-23T10:00:00.123456Z`).
public enum Timestamp {
    /// Formats without a `DateFormatter` (they are slow and not cheap to share across threads).
    public static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        let (year, month, day, hour, minute, second) = PostgresTimestamp.civil(fromUnixSeconds: seconds)
        var out = ""
        out.reserveCapacity(27)
        func append(_ value: Int, _ width: Int) {
            let text = String(value)
            if text.count < width { out += String(repeating: "0", count: width - text.count) }
            out += text
        }
        append(year, 4)
        out += "-"
        append(month, 2)
        out += "-"
        append(day, 2)
        out += "T"
        append(hour, 2)
        out += ":"
        append(minute, 2)
        out += ":"
        append(second, 2)
        out += "."
        append(Int(fraction), 6)
        out += "Z"
        return out
    }
}
