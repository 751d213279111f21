import Hummingbird

extension MessageController {
    /// `?around=<messageId>`: the page that opens a search hit in context, `last` older and `first` newer messages
    /// (15 each by default), answered as a ``MessageWindow`` whose cursors page on with `before`/`after`.
    func listAround(_ around: String, request: Request, userID: Int64, conversationID: Int64) async throws -> Response {
        let query = request.uri.queryParameters
        let older = try QueryInt.parse(query["last"].map(String.init), name: "last", default: 15, range: 1...100)
        let newer = try QueryInt.parse(query["first"].map(String.init), name: "first", default: 15, range: 1...100)
        // `before` and `after` are not used with `around`, but, as everywhere, never ignored when malformed.
        if let before = query["before"].map(String.init), !before.isEmpty, ID.parse(before) == nil {
            throw AppError.badRequest("invalid 'before' id")
        }
        if let after = query["after"].map(String.init), after != "0", ID.parse(after) == nil {
            throw AppError.badRequest("invalid 'after' id")
        }
        guard let messageID = ID.parse(around) else { throw AppError.badRequest("invalid 'around' id") }
        guard
            let window = try await self.conversations.messages(
                userID: userID,
                conversationID: conversationID,
                around: messageID,
                older: older,
                newer: newer
            )
        else { throw AppError.notFound("message not found") }
        return JSONResponse.make(window)
    }
}
