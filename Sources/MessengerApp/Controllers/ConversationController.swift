import Hummingbird

/// `/api/conversations…`: create (1:1 and groups), list, show, participants, join and leave.
public struct ConversationController: Sendable {
    let conversations: any ConversationRepository
    let users: any UserRepository
    let events: any ConversationEvents
    let configuration: AppConfiguration

    public init(conversations: any ConversationRepository, users: any UserRepository, events: any ConversationEvents, configuration: AppConfiguration)
    {
        self.conversations = conversations
        self.users = users
        self.events = events
        self.configuration = configuration
    }

    public func routes(on group: RouterGroup<AppRequestContext>) {
        group.post("conversations", use: self.create)
        group.get("conversations", use: self.list)
        group.get("conversations/{id}", use: self.show)
        group.get("conversations/{id}/other_participant", use: self.otherParticipant)
        group.get("conversations/{id}/participants", use: self.participants)
        group.post("conversations/{id}/participants", use: self.addParticipant)
        group.delete("conversations/{id}/participants/me", use: self.leave)
    }

    struct CreateInput: Decodable {
        var username: String?
        var title: String?
        var usernames: [String]?
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let input = try await request.decode(as: CreateInput.self, context: context)
        if input.title != nil || input.usernames != nil {
            return try await self.createGroup(input, identity: identity)
        }
        guard let username = input.username?.trimmingCharacters(in: .whitespaces), !username.isEmpty else {
            throw AppError.validation(["username": "username required"])
        }
        guard let other = try await self.users.find(username: username) else { throw AppError.notFound("user not found") }
        guard other.id != identity.userID else { throw AppError.forbidden("cannot start a conversation with yourself") }
        let (conversation, created) = try await self.conversations.createDirect(userID: identity.userID, otherUserID: other.id)
        if created { self.events.membershipChanged() }
        return JSONResponse.make(conversation, status: created ? .created : .ok)
    }

    private func createGroup(_ input: CreateInput, identity: Identity) async throws -> Response {
        var errors: [String: String] = [:]
        let title = input.title?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if title.isEmpty || title.count > 100 { errors["title"] = "title must be 1-100 characters" }
        let names = input.usernames ?? []
        if names.isEmpty { errors["usernames"] = "at least one username required" }
        if names.count + 1 > self.configuration.maxGroupSize {
            errors["usernames"] = "a group has at most \(self.configuration.maxGroupSize) members"
        }
        if !errors.isEmpty { throw AppError.validation(errors) }
        var ids: [Int64] = []
        var unknown: [String] = []
        for name in names {
            if let user = try await self.users.find(username: name) {
                ids.append(user.id)
            } else {
                unknown.append(name)
            }
        }
        if !unknown.isEmpty {
            var error = AppError.notFound("unknown usernames: " + unknown.joined(separator: ", "))
            error.extra = ["usernames": unknown]
            throw error
        }
        let conversation = try await self.conversations.createGroup(userID: identity.userID, title: title, memberIDs: ids)
        self.events.membershipChanged()
        return JSONResponse.make(conversation, status: .created)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        var cursor: ConversationCursor?
        if let before = request.uri.queryParameters["before"].map(String.init), !before.isEmpty {
            guard let parsed = ConversationCursor(before) else { throw AppError.badRequest("invalid 'before' cursor") }
            cursor = parsed
        }
        let first = try QueryInt.parse(request.uri.queryParameters["first"].map(String.init), name: "first", default: 25, range: 1...100)
        return JSONResponse.make(try await self.conversations.list(userID: identity.userID, before: cursor, limit: first))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try Self.conversationID(context)
        guard let conversation = try await self.conversations.find(userID: identity.userID, conversationID: id) else {
            throw AppError.notFound("conversation not found")
        }
        return JSONResponse.make(conversation)
    }

    @Sendable func otherParticipant(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try Self.conversationID(context)
        guard let conversation = try await self.conversations.find(userID: identity.userID, conversationID: id),
            let other = conversation.otherParticipant
        else { throw AppError.notFound("conversation not found") }
        return JSONResponse.make(other)
    }

    @Sendable func participants(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try Self.conversationID(context)
        guard let participants = try await self.conversations.participants(userID: identity.userID, conversationID: id) else {
            throw AppError.notFound("conversation not found")
        }
        return JSONResponse.make(participants)
    }

    struct AddInput: Decodable {
        var username: String?
    }

    @Sendable func addParticipant(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try Self.conversationID(context)
        let input = try await request.decode(as: AddInput.self, context: context)
        guard let username = input.username, !username.isEmpty else { throw AppError.validation(["username": "username required"]) }
        // Check membership first so that a non-participant learns nothing about users either.
        guard try await self.conversations.find(userID: identity.userID, conversationID: id) != nil else {
            throw AppError.notFound("conversation not found")
        }
        guard let user = try await self.users.find(username: username) else { throw AppError.notFound("user not found") }
        switch try await self.conversations.addParticipant(userID: identity.userID, conversationID: id, newUserID: user.id) {
        case .added(let participant):
            self.events.membershipChanged()
            return JSONResponse.make(participant, status: .created)
        case .notFound: throw AppError.notFound("conversation not found")
        case .notAGroup: throw AppError(.unprocessableContent, "members can only be added to groups")
        case .alreadyMember: throw AppError.conflict("already a member")
        case .full: throw AppError(.unprocessableContent, "the group is full")
        }
    }

    @Sendable func leave(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try Self.conversationID(context)
        switch try await self.conversations.leave(userID: identity.userID, conversationID: id) {
        case .left:
            self.events.membershipChanged()
            return Response(status: .noContent)
        case .notFound: throw AppError.notFound("conversation not found")
        case .notAGroup: throw AppError(.unprocessableContent, "you cannot leave a one-to-one conversation")
        }
    }

    /// Non-numeric ids are simply not found.
    static func conversationID(_ context: AppRequestContext) throws -> Int64 {
        guard let id = ID.parse(context.parameters.get("id")) else { throw AppError.notFound("conversation not found") }
        return id
    }
}
