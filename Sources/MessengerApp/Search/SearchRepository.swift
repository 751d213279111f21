/// Full-text search over the messages of one user's conversations, and their conversations and people by name.
public protocol SearchRepository: Sendable {
    /// A page of message hits, best first; `nextCursor` is nil after the last page.
    func searchMessages(userID: Int64, query: SearchQuery, after cursor: SearchCursor?, limit: Int) async throws -> (
        hits: [SearchHit], nextCursor: SearchCursor?
    )
    /// The caller's groups whose title contains `text` and 1:1 conversations whose other participant's name starts
    /// with it (case-insensitive, literal).
    func searchConversations(userID: Int64, text: String, limit: Int) async throws -> [SearchConversation]
    /// People whose username starts with `text` (case-insensitive, literal), the caller excluded.
    func searchPeople(userID: Int64, text: String, limit: Int) async throws -> [User]
}
