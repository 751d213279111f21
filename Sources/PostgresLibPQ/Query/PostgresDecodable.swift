import struct Foundation.Data
import struct Foundation.Date
import struct Foundation.UUID

/// A Swift type that can be read from a column in PostgreSQL's text format.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value; returns `nil` when the text is not a valid value of this type.
    static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Self?
    /// The value for SQL `NULL`, or `nil` when `NULL` is not allowed for this type.
    static var postgresNull: Self? { get }
    /// Used in decoding errors.
    static var postgresTypeName: String { get }
}

extension PostgresDecodable {
    public static var postgresNull: Self? { nil }
    public static var postgresTypeName: String { String(describing: Self.self) }
}

extension String: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> String? {
        String(decoding: bytes, as: UTF8.self)
    }
}

/// Parses an optionally signed decimal integer without allocating.
@inline(__always)
private func parseInteger<T: FixedWidthInteger>(_ bytes: UnsafeBufferPointer<UInt8>, as: T.Type) -> T? {
    guard !bytes.isEmpty else { return nil }
    var index = 0
    var negative = false
    if bytes[0] == 45 {
        negative = true
        index = 1
        guard bytes.count > 1 else { return nil }
    }
    var value: T = 0
    while index < bytes.count {
        let byte = bytes[index]
        guard byte >= 48 && byte <= 57 else { return nil }
        let digit = T(byte - 48)
        let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (next, overflow2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
        guard !overflow1 && !overflow2 else { return nil }
        value = next
        index += 1
    }
    return value
}

extension Int: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Int? { parseInteger(bytes, as: Int.self) }
}

extension Int64: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Int64? { parseInteger(bytes, as: Int64.self) }
}

extension Int32: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Int32? { parseInteger(bytes, as: Int32.self) }
}

extension Bool: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard bytes.count == 1 else { return nil }
        switch bytes[0] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: return nil
        }
    }
}

extension Double: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        Double(String(decoding: bytes, as: UTF8.self))
    }
}

extension Date: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        PostgresTimestamp.parse(bytes)
    }
    public static var postgresTypeName: String { "Date (timestamptz)" }
}

extension UUID: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> UUID? {
        UUID(uuidString: String(decoding: bytes, as: UTF8.self))
    }
}

extension Data: PostgresDecodable {
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Data? {
        // bytea output is hex (`\x…`) since PostgreSQL 9.0.
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0 else {
            return nil
        }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 97...102: byte - 87
            case 65...70: byte - 55
            default: nil
            }
        }
        var data = Data(capacity: (bytes.count - 2) / 2)
        var index = 2
        while index < bytes.count {
            guard let high = nibble(bytes[index]), let low = nibble(bytes[index + 1]) else { return nil }
            data.append(high << 4 | low)
            index += 2
        }
        return data
    }
    public static var postgresTypeName: String { "Data (bytea)" }
}

// Inlinable like `PostgresRow.decode`, so a nullable column is decoded without a generic call.
extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    @inlinable
    public static func decode(postgresText bytes: UnsafeBufferPointer<UInt8>) -> Wrapped?? {
        Wrapped.decode(postgresText: bytes).map { .some($0) }
    }
    @inlinable
    public static var postgresNull: Wrapped?? { .some(.none) }
    public static var postgresTypeName: String { "Optional<\(Wrapped.postgresTypeName)>" }
}
