import Foundation
import Testing

/// Hostile requests on every route of a live server over raw sockets: zero 5xx, every `/api` error a JSON body,
/// no error-level log line, and the server still answering afterwards.
@Suite("Hostile input against a live server")
struct HostileInputTests {
    /// Bodies no client should send: bad JSON, bad text, odd numbers, duplicate keys, depth and size.
    static let bodies: [[UInt8]] = {
        var bodies: [[UInt8]] = [
            #"{"content":"\u0000","title":"\ud800","clientId":"\udc00","username":"\u0000","password":"\ud800"}"#,
            #"{"content":1e3,"upTo":1e3,"username":1e3,"usernames":1e3,"title":1e3}"#,
            #"{"upTo":"0x10"}"#, #"{"upTo":"-1"}"#, #"{"upTo":"99999999999999999999"}"#, #"{"upTo":-1}"#,
            #"{"upTo":99999999999999999999999999999999}"#, #"{"content":"a","content":"b","username":"x","username":"y"}"#,
            #"{"usernames":[null,1,{},[]],"title":"t"}"#, #"{"usernames":"notalist","title":["x"]}"#,
            "null", "[]", "\"just a string\"", "12", "true", "{", "{\"content\":", "{}", "{\"content\":\"x\"}garbage",
            #"{"content":"\ud800\ud800"}"#, #"{"content":"\uZZZZ"}"#, #"{"content":"\"#,
        ].map { Array($0.utf8) }
        bodies.append(Array(repeating: UInt8(ascii: "["), count: 100_000))
        bodies.append(Array(String(repeating: #"{"a":"#, count: 5_000).utf8) + Array(repeating: UInt8(ascii: "}"), count: 5_000))
        bodies.append(Array(#"{"content":""#.utf8) + [0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80] + Array(#""}"#.utf8))
        bodies.append(Array(#"{"content":"a"#.utf8) + [0x00] + Array(#"b"}"#.utf8))
        bodies.append(Array(#"{"content":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 60_000) + Array(#""}"#.utf8))
        bodies.append(Array(#"{"content":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 2_000_000) + Array(#""}"#.utf8))
        return bodies
    }()

    static let ids = [
        "1e3", "0x10", "-1", "0", "99999999999999999999", "9223372036854775808", "%00", "%ED%A0%80", "..%2F..%2Fetc%2Fpasswd", "a%20b", "%",
    ]

    @Test("every route, every hostile input: no 5xx, JSON errors, server alive", .timeLimit(.minutes(5)))
    func hostileInput() async throws {
        let server = try await TestServer.start { $0.loginAttemptsPerMinute = 100_000 }
        defer { Task { await server.stop() } }
        let chat = try await Chat.start(on: server.baseURL)
        let (api, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        _ = try await api.sendMessage(alice, conversation, "hello")
        let auth = [("Authorization", "Bearer \(alice.token)")]
        var failures: [String] = []

        /// `malformedHTTP`: the request breaks HTTP itself (a space in the target, a control character in a header);
        /// the HTTP parser rejects it with a bare 400 before any route sees it, so only "no 5xx" applies.
        func check(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = [], malformedHTTP: Bool = false) async throws
        {
            let reply = try await RawHTTP.send(RawHTTP.request(method, target, headers: headers, body: body), port: server.port)
            let what = "\(method) \(target.prefix(120)) [\(body.count) bytes \(String(decoding: body.prefix(40), as: UTF8.self))]"
            if reply.status >= 500 { failures.append("\(what) → \(reply.status) \(reply.text.prefix(200))") }
            if malformedHTTP {
                if reply.status != 400 { failures.append("\(what) → \(reply.status), expected the parser's 400") }
                return
            }
            if target.hasPrefix("/api"), reply.status >= 400 {
                let json = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
                if json?["error"] == nil { failures.append("\(what) → \(reply.status) without a JSON error: \(reply.text.prefix(200))") }
            }
            if reply.text.contains("root:x:0:0") { failures.append("\(what) served /etc/passwd") }
        }

        let postRoutes = [
            "/api/register", "/api/login", "/api/refresh_token", "/api/logout-not", "/api/conversations",
            "/api/conversations/\(conversation)/participants", "/api/conversations/\(conversation)/messages",
            "/api/conversations/\(conversation)/read_messages",
        ]
        for route in postRoutes {
            for body in Self.bodies {
                try await check("POST", route, headers: auth + [("Content-Type", "application/json")], body: body)
            }
            for type in [
                "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "",
            ] {
                try await check("POST", route, headers: auth + [("Content-Type", type)], body: Array(#"{"content":"x"}"#.utf8))
            }
            try await check("POST", route, headers: auth, body: Array(#"{"content":"x"}"#.utf8))
        }
        // Ids and query parameters in every shape.
        for id in Self.ids {
            for path in ["", "/other_participant", "/participants", "/messages", "/read_messages", "/participants/me"] {
                for method in ["GET", "POST", "DELETE"] {
                    try await check(
                        method, "/api/conversations/\(id)\(path)", headers: auth + [("Content-Type", "application/json")], body: Array("{}".utf8))
                }
            }
            for query in ["first", "last", "before", "after"] {
                try await check("GET", "/api/conversations/\(conversation)/messages?\(query)=\(id)", headers: auth)
                try await check("GET", "/api/conversations?\(query)=\(id)", headers: auth)
            }
            try await check("GET", "/api/usernames?search=\(id)&first=\(id)", headers: auth)
            try await check("GET", "/api/auth_user?token=\(id)")
            try await check("GET", "/api/messages?token=\(id)")
        }
        try await check(
            "POST", "/api/conversations/\(conversation)/read_messages", headers: auth + [("Content-Type", "application/json")],
            body: Array(#"{"upTo":"1e3"}"#.utf8))
        // Tokens: garbage, huge, wrong scheme.
        for token in ["x", String(repeating: "a", count: 10_000), "a.b.c", "Bearer", "é"] {
            try await check("GET", "/api/auth_user", headers: [("Authorization", "Bearer \(token)")])
            try await check("GET", "/api/auth_user", headers: [("Authorization", token)])
        }
        // Broken HTTP: the parser's 400, and the server lives on.
        try await check("GET", "/api/conversations/a b", headers: auth, malformedHTTP: true)
        try await check("GET", "/api/auth_user", headers: [("Authorization", "Bearer \u{7f}")], malformedHTTP: true)
        try await check("POST", "/api/login", headers: [("Content-Type", "application/json\u{1}")], body: Array("{}".utf8), malformedHTTP: true)
        // Path traversal, raw and encoded, on the API and the web app.
        for path in [
            "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd", "/js/../../../../etc/passwd",
            "/js/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/api/../../etc/passwd", "//etc/passwd", "/%2fetc%2fpasswd", "/index.html%00.js", "/%00", "/%ED%A0%80", "/%FF%FE",
            "/js/..%5c..%5cetc%5cpasswd",
            "/" + String(repeating: "a", count: 10_000), "/api/" + String(repeating: "a/", count: 2_000),
        ] {
            try await check("GET", path, headers: auth)
            try await check("POST", path, headers: auth + [("Content-Type", "application/json")], body: Array("{}".utf8))
        }
        // The stream with hostile resume points: the head is all that matters.
        for lastEventID in ["x", "1-2-3-4", "-1--1-x", "99999999999999999999-99999999999999999999-1", "\u{1}"] {
            let request = RawHTTP.request(
                "GET", "/api/messages?token=\(alice.token)", headers: [("Accept", "text/event-stream"), ("Last-Event-ID", lastEventID)])
            let reply = try await RawHTTP.sendForHead(request, port: server.port)
            if reply.status >= 500 { failures.append("stream with Last-Event-ID \(lastEventID) → \(reply.status)") }
        }

        #expect(failures.isEmpty, "\(failures.count) failures:\n\(failures.prefix(40).joined(separator: "\n"))")
        // Alive and well.
        #expect(try await api.send(.GET, "/healthz").status == 200)
        #expect(try await api.send(.GET, "/readyz").status == 200)
        let sent = try await api.sendMessage(alice, conversation, "still here")
        #expect(sent["content"] as? String == "still here")
        let errors = server.logs.all.filter { $0.hasPrefix("error") || $0.hasPrefix("critical") }
        #expect(errors.isEmpty, "error-level log lines: \(errors.prefix(10))")
    }
}
