import Foundation
import Testing

/// NUL and unpaired surrogates in every text field: a 422 naming the field, never a 500, never an error log.
@Suite("Bad text input")
struct BadInputTests {
    /// Sends a raw JSON body (escapes written exactly as a hostile client would) and expects a 422 for `field`.
    static func expectRefused(
        _ server: TestServer, _ path: String, token: String? = nil, body: String, field: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var headers = [("Content-Type", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let reply = try await RawHTTP.send(RawHTTP.request("POST", path, headers: headers, body: Array(body.utf8)), port: server.port)
        #expect(reply.status == 422, "\(path) \(body): \(reply.status) \(reply.text)", sourceLocation: sourceLocation)
        let json = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        let errors = json?["errors"] as? [String: String]
        #expect(errors?[field] != nil, "\(path) \(body): \(reply.text)", sourceLocation: sourceLocation)
    }

    @Test("NUL and lone surrogates in content, title, clientId, username, password and search")
    func nulAndSurrogates() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let messages = "/api/conversations/\(conversation)/messages"
        for bad in [#"\u0000"#, #"\ud800"#, #"\udc00"#, #"\ud83dx"#] {
            try await Self.expectRefused(server, "/api/register", body: #"{"username":"x\#(bad)y","password":"password1"}"#, field: "username")
            try await Self.expectRefused(server, "/api/register", body: #"{"username":"okname","password":"pass\#(bad)word"}"#, field: "password")
            try await Self.expectRefused(server, "/api/login", body: #"{"username":"\#(alice.username)\#(bad)"}"#, field: "username")
            try await Self.expectRefused(server, "/api/login", body: #"{"username":"okname","password":"\#(bad)"}"#, field: "password")
            try await Self.expectRefused(server, messages, token: alice.token, body: #"{"content":"hi \#(bad)"}"#, field: "content")
            try await Self.expectRefused(server, messages, token: alice.token, body: #"{"content":"hi","clientId":"c\#(bad)"}"#, field: "clientId")
            try await Self.expectRefused(
                server, "/api/conversations", token: alice.token, body: #"{"title":"t\#(bad)","usernames":["\#(bob.username)"]}"#, field: "title")
            try await Self.expectRefused(server, "/api/conversations", token: alice.token, body: #"{"username":"\#(bad)"}"#, field: "username")
        }
        for search in ["%00", "a%00b", "%ED%A0%80", "%FF"] {
            let reply = try await api.send(.GET, "/api/usernames?search=\(search)", token: alice.token)
            #expect(reply.status == 422, "search=\(search): \(reply.status)")
            #expect((reply.object["errors"] as? [String: String])?["search"] != nil)
        }
        // A proper surrogate pair is an emoji, and welcome.
        let emoji = try await RawHTTP.send(
            RawHTTP.request(
                "POST", messages, headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(alice.token)")],
                body: Array(#"{"content":"hi \ud83d\ude00"}"#.utf8)),
            port: server.port
        )
        #expect(emoji.status == 201, "\(emoji.text)")
        #expect(emoji.text.contains("hi 😀"))
        let errors = server.logs.all.filter { $0.hasPrefix("error") || $0.hasPrefix("critical") }
        #expect(errors.isEmpty, "error-level log lines: \(errors)")
    }
}
