import Foundation

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
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        var out = ""
        out.reserveCapacity(27)
        func append(_ value: Int64, _ width: Int) {
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
        append(rest / 3600, 2)
        out += ":"
        append((rest % 3600) / 60, 2)
        out += ":"
        append(rest % 60, 2)
        out += "."
        append(fraction, 6)
        out += "Z"
        return out
    }
}
