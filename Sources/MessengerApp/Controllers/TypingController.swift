import Hummingbird

/// `POST /api/conversations/{id}/typing` with `{"typing": true|false}`: tells the other participants (never stored).
public struct TypingController: Sendable {
    let presence: any PresenceRepository
    let realtime: RealtimeService
    let configuration: AppConfiguration

    public init(presence: any PresenceRepository, realtime: RealtimeService, configuration: AppConfiguration) {
        self.presence = presence
        self.realtime = realtime
        self.configuration = configuration
    }

    public func routes(on group: RouterGroup<AppRequestContext>) {
        group.post("conversations/{id}/typing", use: self.typing)
    }

    struct Input: Decodable {
        var typing: Bool
    }

    /// 204 whether the change was relayed or dropped by the rate limit (a client cannot tell, and need not).
    @Sendable func typing(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard let conversationID = ID.parse(context.parameters.get("id")) else { throw AppError.notFound("conversation not found") }
        let input = try await request.decode(as: Input.self, context: context)
        try await self.setTyping(userID: identity.userID, conversationID: conversationID, isTyping: input.typing)
        return Response(status: .noContent)
    }

    /// Relays a typing change to the other participants (404 for a non-participant); shared by the REST route and
    /// the WebSocket `typing` frame.
    func setTyping(userID: Int64, conversationID: Int64, isTyping: Bool) async throws {
        guard let username = try await self.presence.participantName(userID: userID, conversationID: conversationID) else {
            throw AppError.notFound("conversation not found")
        }
        await self.realtime.typing(userID: userID, username: username, conversationID: conversationID, isTyping: isTyping)
    }
}
