import Foundation
import JWTKit

/// Signs and verifies HS256 tokens. Only HS256 with our key verifies: `alg: none` and every other algorithm fail.
public struct TokenService: Sendable {
    let keys: JWTKeyCollection
    let lifetime: Duration

    public init(key: [UInt8], lifetime: Duration) async {
        self.keys = JWTKeyCollection()
        await self.keys.add(hmac: HMACKey(from: key), digestAlgorithm: .sha256)
        self.lifetime = lifetime
    }

    /// A new token for the user's session, and when it expires.
    public func issue(userID: Int64, sessionID: UUID, now: Date = Date()) async throws -> (token: String, expiresAt: Date) {
        let expiresAt = self.expiry(from: now)
        let payload = TokenPayload(
            sub: SubjectClaim(value: String(userID)),
            sid: sessionID.uuidString.lowercased(),
            iat: IssuedAtClaim(value: now),
            exp: ExpirationClaim(value: expiresAt)
        )
        return (try await self.keys.sign(payload), expiresAt)
    }

    public func expiry(from now: Date) -> Date {
        let seconds = Double(self.lifetime.components.seconds)
        return now.addingTimeInterval(seconds)
    }

    /// The identity a token proves, or nil when it is malformed, forged, of another algorithm, or expired.
    public func verify(_ token: String) async -> Identity? {
        // The header's alg must be exactly HS256: jwt-kit picks the signer by key, but be explicit.
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let headerData = Data(base64URLEncoded: String(header)),
            let headerJSON = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
            headerJSON["alg"] as? String == "HS256"
        else { return nil }
        guard let payload = try? await self.keys.verify(token, as: TokenPayload.self),
            let userID = ID.parse(payload.sub.value),
            let sessionID = UUID(uuidString: payload.sid)
        else { return nil }
        return Identity(userID: userID, sessionID: sessionID, expiresAt: payload.exp.value)
    }
}
