import Testing

@Suite("Security headers")
struct SecurityHeadersTests {
    @Test("the web app, its files, the API and errors all carry CSP, nosniff, Referrer-Policy and no framing")
    func everyResponse() async throws {
        let server = try await TestServer.start { $0.webDirectory = TestServer.schema.deletingLastPathComponent().appendingPathComponent("web").path }
        defer { Task { await server.stop() } }
        for path in ["/", "/some/client/route", "/js/app.js", "/styles.css", "/api/config", "/api/nope", "/api/auth_user", "/healthz"] {
            let reply = try await RawHTTP.send(RawHTTP.request("GET", path), port: server.port)
            let policy = reply.header("Content-Security-Policy") ?? ""
            #expect(policy.contains("script-src 'self'"), "\(path): \(policy)")
            #expect(policy.contains("frame-ancestors 'none'"), "\(path)")
            #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "\(path)")
            #expect(reply.header("X-Content-Type-Options") == "nosniff", "\(path)")
            #expect(reply.header("Referrer-Policy") == "no-referrer", "\(path)")
        }
        // The page itself has no inline script for the policy to block.
        let page = try await RawHTTP.send(RawHTTP.request("GET", "/"), port: server.port)
        #expect(page.status == 200)
        #expect(!page.text.contains("<script>") && page.text.contains(#"<script type="module" src="/js/app.js"></script>"#))
    }
}
