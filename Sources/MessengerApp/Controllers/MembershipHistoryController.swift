import Hummingbird

/// `GET /api/conversations/{id}/events`: the membership history of a conversation, for the lines
/// "alice created the group", "bob added carol", "carol left" between its messages.
public struct MembershipHistoryController: Sendable {
    let history: any MembershipHistoryRepository

    public init(history: any MembershipHistoryRepository) {
        self.history = history
    }

    public func routes(on group: RouterGroup<AppRequestContext>) {
        group.get("conversations/{id}/events", use: self.list)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let conversationID = try ConversationController.conversationID(context)
        let limit = try QueryInt.parse(
            request.uri.queryParameters["last"].map(String.init),
            name: "last",
            default: 200,
            range: 1...500
        )
        guard
            let events = try await self.history.membershipEvents(
                userID: identity.userID,
                conversationID: conversationID,
                limit: limit
            )
        else { throw AppError.notFound("conversation not found") }
        return try JSONResponse.make(events)
    }
}
