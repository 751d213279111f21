import Foundation
import PostgresLibPQ

/// RFC 3339 timestamps with microseconds in UTC, as the API promises (`2026-11-23T10:00:00.123456Z`).
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        PostgresTimestamp.format(date, separator: "T", zone: "Z")
    }
}
