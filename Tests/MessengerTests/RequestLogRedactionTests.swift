import Testing

@testable import MessengerApp

/// Tokens never reach the request log, however the query is written.
@Suite struct RequestLogRedactionTests {
    @Test(arguments: [
        ("/api/messages", "/api/messages"),
        ("/api/messages?token=abc.def", "/api/messages?token=***"),
        ("/api/messages?a=1&token=abc&b=2", "/api/messages?a=1&token=***&b=2"),
        ("/api/messages?TOKEN=x&access_token=y", "/api/messages?TOKEN=***&access_token=***"),
        ("/api/messages?%74oken=x", "/api/messages?%74oken=***"),
        ("/api/messages?token", "/api/messages?token=***"),
        ("/api/messages?a&&token=x=y&", "/api/messages?a&&token=***&"),
        ("/api/messages?tokens=x&é=ü&token=ü", "/api/messages?tokens=x&é=ü&token=***"),
        ("/x?", "/x?"),
    ])
    func redacted(_ uri: String, _ expected: String) {
        #expect(RequestLogMiddleware<AppRequestContext>.redactedPath(uri) == expected)
    }
}
