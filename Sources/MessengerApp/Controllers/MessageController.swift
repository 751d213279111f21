import Hummingbird

/// `/api/conversations/{id}/messages` and `read_messages`.
public struct MessageController: Sendable {
    let conversations: any ConversationRepository
    let events: any ConversationEvents
    let configuration: AppConfiguration

    public init(conversations: any ConversationRepository, events: any ConversationEvents, configuration: AppConfiguration) {
        self.conversations = conversations
        self.events = events
        self.configuration = configuration
    }

    public func routes(on group: RouterGroup<AppRequestContext>) {
        group.post("conversations/{id}/messages", use: self.create)
        group.get("conversations/{id}/messages", use: self.list)
        group.post("conversations/{id}/read_messages", use: self.read)
    }

    struct CreateInput: Decodable, FlatJSONDecodable {
        var content: String?
        var clientId: String?

        /// A key given twice goes to `JSONDecoder`, which decides it as for any body.
        init?(flatJSON members: [FlatJSONObject.Member]) {
            var content: String?? = .none
            var clientID: String?? = .none
            for (key, value) in members {
                switch key {
                case "content":
                    guard content == nil else { return nil }
                    content = .some(value)
                case "clientId":
                    guard clientID == nil else { return nil }
                    clientID = .some(value)
                default: continue
                }
            }
            self.content = content ?? nil
            self.clientId = clientID ?? nil
        }
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let conversationID = try ConversationController.conversationID(context)
        let input = try await request.decode(as: CreateInput.self, context: context)
        let (message, created) = try await self.send(
            userID: identity.userID, conversationID: conversationID, content: input.content, clientID: input.clientId)
        return JSONResponse.make(message, status: created ? .created : .ok)
    }

    /// Validates and stores a message, then wakes delivery; shared by the REST route and the WebSocket `send`
    /// frame, so both have the same rules, limits and error texts. `created` is false for a resend with a
    /// `clientID` already stored (the stored message comes back).
    func send(userID: Int64, conversationID: Int64, content rawContent: String?, clientID: String?) async throws -> (Message, created: Bool) {
        let content = MessageContent.normalize(rawContent ?? "")
        if content.isEmpty || content.count > self.configuration.maxMessageLength {
            throw AppError.validation(["content": "content must be 1-\(self.configuration.maxMessageLength) characters"])
        }
        if let clientID, clientID.isEmpty || clientID.count > 64 {
            throw AppError.validation(["clientId": "clientId must be 1-64 characters"])
        }
        guard
            let (message, created) = try await self.conversations.createMessage(
                userID: userID,
                conversationID: conversationID,
                content: content,
                clientID: clientID
            )
        else { throw AppError.notFound("conversation not found") }
        if created { self.events.messageCreated() }
        return (message, created)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let conversationID = try ConversationController.conversationID(context)
        let query = request.uri.queryParameters
        if let around = query["around"].map(String.init) {
            return try await self.listAround(around, request: request, userID: identity.userID, conversationID: conversationID)
        }
        // Every parameter is checked, also those of the direction not asked for: a bad parameter is never ignored.
        let first = try QueryInt.parse(query["first"].map(String.init), name: "first", default: 25, range: 1...100)
        let last = try QueryInt.parse(query["last"].map(String.init), name: "last", default: 25, range: 1...100)
        var before: Int64?
        if let text = query["before"].map(String.init), !text.isEmpty {
            guard let id = ID.parse(text) else { throw AppError.badRequest("invalid 'before' id") }
            before = id
        }
        let page: MessagePage
        if let after = query["after"].map(String.init) {
            guard let afterID = ID.parse(after) ?? (after == "0" ? 0 : nil) else { throw AppError.badRequest("invalid 'after' id") }
            page = .after(afterID, limit: first)
        } else {
            page = .before(before, limit: last)
        }
        guard let messages = try await self.conversations.messages(userID: identity.userID, conversationID: conversationID, page: page) else {
            throw AppError.notFound("conversation not found")
        }
        return JSONResponse.make(messages)
    }

    struct ReadInput: Decodable {
        var upTo: String?
    }

    @Sendable func read(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let conversationID = try ConversationController.conversationID(context)
        let input = try await request.decodeIfPresent(as: ReadInput.self, context: context)
        try await self.markRead(userID: identity.userID, conversationID: conversationID, upTo: input?.upTo)
        return Response(status: .noContent)
    }

    /// Marks the conversation read up to `upTo` (a message id; nil: everything), then wakes delivery; shared by the
    /// REST route and the WebSocket `read` frame.
    func markRead(userID: Int64, conversationID: Int64, upTo text: String?) async throws {
        var upTo: Int64?
        if let text {
            guard let id = ID.parse(text) else { throw AppError.notFound("message not found") }
            upTo = id
        }
        switch try await self.conversations.markRead(userID: userID, conversationID: conversationID, upTo: upTo) {
        case .done(let moved):
            if moved { self.events.messagesRead() }
        case .notFound: throw AppError.notFound("conversation not found")
        case .messageNotFound: throw AppError.notFound("message not found")
        }
    }
}
