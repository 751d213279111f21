import struct Foundation.Data
import struct Foundation.Date

/// A Swift value that can be sent to PostgreSQL as a bound parameter in text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter's text representation; `nil` sends SQL `NULL`.
    func postgresText() throws(PostgresError) -> String?
}

extension String: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? {
        // libpq takes C strings: a NUL byte would silently truncate the value, so refuse it.
        if self.utf8.contains(0) {
            throw PostgresError(kind: .invalidBind, serverMessage: "text contains a NUL byte")
        }
        return self
    }
}

extension Substring: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? { try String(self).postgresText() }
}

extension Int: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? { String(self) }
}

extension Int64: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? { String(self) }
}

extension Int32: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? { String(self) }
}

extension Bool: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? { self ? "t" : "f" }
}

extension Double: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? {
        if self.isNaN { return "NaN" }
        if self.isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return "\(self)"
    }
}

extension Date: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? { PostgresTimestamp.format(self) }
}

extension Data: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? {
        // bytea hex input format: \x followed by two hex digits a byte.
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(2 + self.count * 2)
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "x"))
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? {
        switch self {
        case .none: nil
        case .some(let value): try value.postgresText()
        }
    }
}

/// Arrays are sent as PostgreSQL array literals (`{…}`), every element quoted, so that `= ANY($1)` works.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    public func postgresText() throws(PostgresError) -> String? {
        var text = "{"
        for (index, element) in self.enumerated() {
            if index > 0 { text += "," }
            guard let value = try element.postgresText() else {
                text += "NULL"
                continue
            }
            text += "\""
            for character in value.unicodeScalars {
                if character == "\"" || character == "\\" { text += "\\" }
                text.unicodeScalars.append(character)
            }
            text += "\""
        }
        return text + "}"
    }
}
