/// Two users with a 1:1 conversation on a server: where most realtime tests start.
struct Chat {
    let api: APIClient
    let alice: APIClient.Session
    let bob: APIClient.Session
    let conversation: String

    static func start(on baseURL: String) async throws -> Chat {
        let api = APIClient(baseURL: baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        let conversation = try await api.startConversation(alice, with: bob.username)
        return Chat(api: api, alice: alice, bob: bob, conversation: conversation)
    }
}
