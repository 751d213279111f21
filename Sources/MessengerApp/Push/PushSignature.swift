import Crypto
import Foundation

/// The `Messenger-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the shared secret.
/// Receivers recompute the HMAC over the timestamp, a dot and the raw body, compare in constant time, and reject
/// timestamps far from their clock (replays).
public enum PushSignature {
    public static let headerName = "Messenger-Signature"

    public static func header(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        "t=\(timestamp),v1=\(self.hex(secret: secret, timestamp: timestamp, body: body))"
    }

    static func hex(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}
