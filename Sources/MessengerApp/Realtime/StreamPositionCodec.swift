import Crypto
import Foundation

/// Turns stream positions into the opaque SSE ids clients hold, and back.
///
/// A client's `Last-Event-ID` decides how far back the server replays, so it must not be forgeable: the id carries
/// an HMAC over the position and its time, keyed by the server's secret and this database's stream identity. An id
/// that was edited, made up, or issued by another deployment or database does not verify and gets `event: reset`.
///
/// Wire form: `"<tx>-<id>-<unix seconds>-<mac>"`, the MAC being 96 bits in hex.
public struct StreamPositionCodec: Sendable {
    private let key: SymmetricKey

    /// - Parameters:
    ///   - serverKey: the server's secret (the token signing key); a derived key is used, never the key itself.
    ///   - databaseToken: the database's stream identity (`stream_identity.token`).
    public init(serverKey: [UInt8], databaseToken: String) {
        let derived = HMAC<SHA256>.authenticationCode(
            for: Array("messenger stream position \(databaseToken)".utf8),
            using: SymmetricKey(data: serverKey)
        )
        self.key = SymmetricKey(data: Array(derived))
    }

    /// The SSE id for a position.
    public func encode(_ position: StreamPosition) -> String {
        let body = position.description
        return body + "-" + self.mac(body)
    }

    /// The position an SSE id stands for; nil when it is malformed or its MAC does not verify.
    public func decode(_ text: String) -> StreamPosition? {
        guard text.utf8.count <= 128, let dash = text.lastIndex(of: "-") else { return nil }
        let body = String(text[..<dash])
        let given = text[text.index(after: dash)...]
        guard let position = StreamPosition(body) else { return nil }
        // Compared in constant time: a byte-by-byte early exit would let a client find a valid MAC by timing.
        let expected = Array(self.mac(body).utf8)
        let actual = Array(given.utf8)
        guard expected.count == actual.count else { return nil }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ actual[index] }
        return difference == 0 ? position : nil
    }

    private func mac(_ body: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: self.key)
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        for byte in code.prefix(12) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
