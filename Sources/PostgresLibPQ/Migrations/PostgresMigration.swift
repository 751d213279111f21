import struct Foundation.URL

/// One versioned SQL file, `NNNN_name.sql`.
public struct PostgresMigration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// FNV-1a over the file's bytes: enough to notice that an applied file was edited.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in self.sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Parses `0001_users.sql` into version 1, name `users`; nil for other file names.
    public static func parseFileName(_ fileName: String) -> (version: Int, name: String)? {
        guard fileName.hasSuffix(".sql"), let underscore = fileName.firstIndex(of: "_") else { return nil }
        guard let version = Int(fileName[..<underscore]), version > 0 else { return nil }
        let name = fileName[fileName.index(after: underscore)...].dropLast(4)
        return (version, String(name))
    }
}
