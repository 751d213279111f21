import JWTKit

/// Claims of our tokens: `sub` (user id), `sid` (session id, for logout), `iat`, `exp`.
struct TokenPayload: JWTPayload {
    var sub: SubjectClaim
    var sid: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try self.exp.verifyNotExpired()
    }
}
