import Foundation
import Logging

/// Where the token key comes from: `JWT_KEY`, else a random key generated once and kept in the data folder so a
/// restart does not sign everyone out.
public enum JWTKeyFile {
    public static func load(environmentKey: String?, dataDirectory: URL, logger: Logger) throws -> [UInt8] {
        if let environmentKey, !environmentKey.isEmpty {
            return Array(environmentKey.utf8)
        }
        let file = dataDirectory.appendingPathComponent("jwt.key")
        if let data = try? Data(contentsOf: file), data.count >= 32 {
            logger.warning("JWT_KEY is not set: using the key kept in \(file.path)")
            return Array(data)
        }
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let key = (0..<64).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        try Data(key).write(to: file, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        logger.warning("JWT_KEY is not set: generated a random key and kept it in \(file.path)")
        return key
    }
}
