import Crypto
import Foundation

/// Signs like HS256 with a key of the test's choosing (to forge a token signed with another key).
func hmacSHA256Base64URL(key: [UInt8], message: String) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: key))
    return base64URL(Data(mac))
}
