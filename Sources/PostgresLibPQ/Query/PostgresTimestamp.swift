import struct Foundation.Date

/// Converts between `Date` and PostgreSQL's ISO text format for `timestamptz`.
///
/// Connections set `TimeZone=UTC` and `DateStyle=ISO`, so the server always answers
/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00`. Parsing that by hand is much cheaper than a `DateFormatter`.
public enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        self.format(date, separator: " ", zone: "+00")
    }

    /// `YYYY-MM-DD<separator>HH:MM:SS.ffffff<zone>` in UTC, microseconds rounded: PostgreSQL's text with
    /// `separator: " ", zone: "+00"`, RFC 3339 with `separator: "T", zone: "Z"` (the API's timestamps). Fixed-width
    /// digits written into the string's own buffer, without a `DateFormatter` (slow, and not cheap to share across
    /// threads) and without appending part by part (several times dearer; every message of every page and event pays
    /// this). A year outside 0–9999, which the server never writes, is written as it is (`10000`, `-1`).
    public static func format(_ date: Date, separator: String, zone: String) -> String {
        let parts = Self.parts(date)
        let wideYear = (0...9999).contains(parts.year) ? nil : String(parts.year).utf8
        let separator = separator.utf8
        let zone = zone.utf8
        return String(unsafeUninitializedCapacity: 22 + (wideYear?.count ?? 4) + separator.count + zone.count) { buffer in
            var index = 0
            func digits(_ value: Int, _ width: Int) {
                var value = value
                var position = index + width - 1
                while position >= index {
                    buffer[position] = UInt8(48 + value % 10)
                    value /= 10
                    position -= 1
                }
                index += width
            }
            func bytes(_ text: String.UTF8View) {
                for byte in text {
                    buffer[index] = byte
                    index += 1
                }
            }
            func byte(_ ascii: UInt8) {
                buffer[index] = ascii
                index += 1
            }
            if let wideYear { bytes(wideYear) } else { digits(parts.year, 4) }
            byte(45)
            digits(parts.month, 2)
            byte(45)
            digits(parts.day, 2)
            bytes(separator)
            digits(parts.hour, 2)
            byte(58)
            digits(parts.minute, 2)
            byte(58)
            digits(parts.second, 2)
            byte(46)
            digits(parts.fraction, 6)
            bytes(zone)
            return index
        }
    }

    /// The civil UTC fields of `date`, microseconds rounded.
    private static func parts(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: Int) {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        let (year, month, day, hour, minute, second) = civil(fromUnixSeconds: seconds)
        return (year, month, day, hour, minute, second, Int(fraction))
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        // YYYY-MM-DD HH:MM:SS(.f{1,6})?(+|-)HH(:MM)?
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<digits {
                let byte = bytes[index]
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
                index += 1
            }
            return value
        }
        func expect(_ ascii: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == ascii else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
            expect(32), let hour = number(2), expect(58), let minute = number(2), expect(58), let second = number(2)
        else { return nil }
        var micros = 0
        if index < bytes.count, bytes[index] == 46 {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 6 {
                    micros = micros * 10 + Int(bytes[index] - 48)
                    digits += 1
                }
                index += 1
            }
            while digits < 6 {
                micros *= 10
                digits += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign = bytes[index]
            guard sign == 43 || sign == 45 else { return nil }
            index += 1
            guard let offsetHours = number(2) else { return nil }
            var offsetMinutes = 0
            if index < bytes.count, bytes[index] == 58 {
                index += 1
                offsetMinutes = number(2) ?? 0
            }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (sign == 45 ? -1 : 1)
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let unix = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(unix) + Double(micros) / 1_000_000)
    }

    /// Howard Hinnant's days-from-civil algorithm.
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Year, month, day, hour, minute, second (UTC) of a Unix time.
    public static func civil(fromUnixSeconds seconds: Int64) -> (Int, Int, Int, Int, Int, Int) {
        var days = Int(seconds / 86_400)
        var rest = Int(seconds % 86_400)
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
        return (year, month, day, rest / 3600, (rest % 3600) / 60, rest % 60)
    }
}
