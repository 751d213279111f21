import Hummingbird

/// `GET /api/search?q=…`: messages of the caller's conversations (ranked, paged by `cursor`), and on the first page
/// the caller's conversations and the people whose names match.
public struct SearchController: Sendable {
    let search: any SearchRepository

    public init(search: any SearchRepository) {
        self.search = search
    }

    public func routes(on group: RouterGroup<AppRequestContext>) {
        group.get("search", use: self.find)
    }

    @Sendable func find(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        // q is plain text: everything but NUL and invalid UTF-8 (422 from QueryText) is searched for as words.
        guard let text = try QueryText.value("q", in: request), text.contains(where: { !$0.isWhitespace }) else {
            throw AppError.validation(["q": "q required"])
        }
        guard text.count <= SearchQuery.maxLength else {
            throw AppError.validation(["q": "q must be at most \(SearchQuery.maxLength) characters"])
        }
        let limit = try QueryInt.parse(request.uri.queryParameters["first"].map(String.init), name: "first", default: 20, range: 1...50)
        var cursor: SearchCursor?
        if let cursorText = try QueryText.value("cursor", in: request), !cursorText.isEmpty {
            guard let parsed = SearchCursor(cursorText) else { throw AppError.badRequest("invalid 'cursor'") }
            cursor = parsed
        }
        let query = SearchQuery(text)
        let userID = identity.userID
        let search = self.search
        let firstPage = cursor == nil
        // The three lookups are independent: run them side by side (separate pooled connections).
        async let conversations = firstPage ? search.searchConversations(userID: userID, text: query.name, limit: 5) : []
        async let people = firstPage ? search.searchPeople(userID: userID, text: query.name, limit: 5) : []
        let (hits, next) = try await search.searchMessages(userID: userID, query: query, after: cursor, limit: limit)
        return try JSONResponse.make(
            SearchResults(messages: hits, nextCursor: next?.description, conversations: try await conversations, people: try await people)
        )
    }
}
