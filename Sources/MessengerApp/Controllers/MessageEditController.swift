import Hummingbird

/// `PATCH` and `DELETE /api/conversations/{id}/messages/{messageId}`: the author edits (within the edit window) or
/// deletes a message; both are stream events.
public struct MessageEditController: Sendable {
    let messages: any MessageEditRepository
    let events: any ConversationEvents
    let configuration: AppConfiguration

    public init(messages: any MessageEditRepository, events: any ConversationEvents, configuration: AppConfiguration) {
        self.messages = messages
        self.events = events
        self.configuration = configuration
    }

    public func routes(on group: RouterGroup<AppRequestContext>) {
        group.patch("conversations/{id}/messages/{messageId}", use: self.edit)
        group.delete("conversations/{id}/messages/{messageId}", use: self.delete)
    }

    struct EditInput: Decodable {
        var content: String?
    }

    @Sendable func edit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let conversationID = try ConversationController.conversationID(context)
        let messageID = try Self.messageID(context)
        let input = try await request.decode(as: EditInput.self, context: context)
        // The same normalisation and limits as sending.
        let content = MessageContent.normalize(input.content ?? "")
        if content.isEmpty || content.count > self.configuration.maxMessageLength {
            throw AppError.validation(["content": "content must be 1-\(self.configuration.maxMessageLength) characters"])
        }
        switch try await self.messages.editMessage(
            userID: identity.userID,
            conversationID: conversationID,
            messageID: messageID,
            content: content,
            window: self.configuration.editWindow
        ) {
        case .edited(let message):
            self.events.messageChanged()
            return JSONResponse.make(message)
        case .notFound: throw AppError.notFound("message not found")
        case .notAuthor: throw AppError.forbidden("only the author can edit a message")
        case .windowPassed: throw AppError.forbidden("the time to edit this message has passed")
        }
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let conversationID = try ConversationController.conversationID(context)
        let messageID = try Self.messageID(context)
        switch try await self.messages.deleteMessage(userID: identity.userID, conversationID: conversationID, messageID: messageID) {
        case .deleted(let changed):
            if changed { self.events.messageChanged() }
            return Response(status: .noContent)
        case .notFound: throw AppError.notFound("message not found")
        case .notAuthor: throw AppError.forbidden("only the author can delete a message")
        }
    }

    /// Non-numeric ids are simply not found.
    static func messageID(_ context: AppRequestContext) throws -> Int64 {
        guard let id = ID.parse(context.parameters.get("messageId")) else { throw AppError.notFound("message not found") }
        return id
    }
}
