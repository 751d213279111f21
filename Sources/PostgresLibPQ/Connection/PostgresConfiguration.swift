import Foundation

/// How to reach a PostgreSQL server: libpq connection keywords and values.
///
/// The values are handed to `PQconnectdbParams` as separate keyword/value arrays, so nothing is ever concatenated
/// into a conninfo string (a password with a quote in it cannot change the meaning of anything).
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    /// libpq keywords (`host`, `port`, `dbname`, `user`, …) and their values, in order.
    public var parameters: [(String, String)]

    /// libpq keywords and values, e.g. `[("host", "/run/postgresql"), ("dbname", "messenger")]`.
    public init(parameters: [(String, String)]) {
        self.parameters = parameters
    }

    /// A `postgres://` URL or a `key=value` string, parsed by libpq itself (`expand_dbname`).
    public init(url: String) {
        self.parameters = [("dbname", url)]
    }

    /// A Unix-socket configuration.
    public static func unixSocket(directory: String, port: Int = 5432, user: String, database: String) -> PostgresConfiguration {
        PostgresConfiguration(parameters: [
            ("host", directory), ("port", String(port)), ("user", user), ("dbname", database),
        ])
    }

    /// The same server, another database.
    public func withDatabase(_ database: String) -> PostgresConfiguration {
        var copy = self
        // Keywords after the expanded dbname override what the URL said.
        copy.parameters.append(("dbname", database))
        return copy
    }

    /// Never prints passwords.
    public var description: String {
        self.parameters.map { key, value in
            if key == "password" { return "password=***" }
            if key == "dbname", value.contains("://") || value.contains("=") {
                return "dbname=" + Self.redactingPassword(value)
            }
            return "\(key)=\(value)"
        }.joined(separator: " ")
    }

    static func redactingPassword(_ url: String) -> String {
        // postgres://user:secret@host → postgres://user:***@host
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else {
            return url.replacingPasswordKeyword()
        }
        let userInfo = url[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}

extension String {
    fileprivate func replacingPasswordKeyword() -> String {
        self.split(separator: " ").map { $0.hasPrefix("password=") ? "password=***" : String($0) }.joined(separator: " ")
    }
}
