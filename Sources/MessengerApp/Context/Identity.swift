import Foundation

/// Who made a request: set by the auth guard from a verified token.
public struct Identity: Sendable, Equatable {
    public var userID: Int64
    public var sessionID: UUID
    public var expiresAt: Date
}
