import Foundation
import Testing

@Suite("Accounts and token auth over HTTP")
struct AuthTests {
    @Test("register, login, auth_user, refresh, logout")
    func lifecycle() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let name = uniqueName("Alice")
        let registered = try await api.send(.POST, "/api/register", json: ["username": name, "password": "correct horse"])
        #expect(registered.status == 201)
        let token = try #require(registered.object["token"] as? String)
        #expect((registered.object["authUser"] as? [String: Any])?["username"] as? String == name)
        #expect(registered.object["expiresAt"] is String)

        // Taken in any case.
        #expect(try await api.send(.POST, "/api/register", json: ["username": name.uppercased(), "password": "another one"]).status == 409)
        // Wrong password and unknown user answer the same.
        let wrong = try await api.send(.POST, "/api/login", json: ["username": name, "password": "wrong password"])
        let unknown = try await api.send(.POST, "/api/login", json: ["username": uniqueName(), "password": "wrong password"])
        #expect(wrong.status == 401 && unknown.status == 401)
        #expect(wrong.error == unknown.error)
        // Dev login never enters a password account.
        #expect(try await api.send(.POST, "/api/login", json: ["username": name]).status == 401)

        let login = try await api.send(.POST, "/api/login", json: ["username": name.lowercased(), "password": "correct horse"])
        #expect(login.status == 200)
        let me = try await api.send(.GET, "/api/auth_user", token: token)
        #expect(me.status == 200)
        #expect(me.object["username"] as? String == name)
        #expect(me.object.keys.contains("avatarURL"))

        let refreshed = try await api.send(.POST, "/api/refresh_token", token: token)
        #expect(refreshed.status == 200)
        let newToken = try #require(refreshed.object["token"] as? String)
        #expect(try await api.send(.GET, "/api/auth_user", token: newToken).status == 200)

        #expect(try await api.send(.POST, "/api/logout", token: token).status == 204)
        let after = try await api.send(.GET, "/api/auth_user", token: token)
        #expect(after.status == 401)
        #expect(after.headers.first(name: "WWW-Authenticate") == "Bearer")
        // The refreshed token belongs to the same session: dead too.
        #expect(try await api.send(.GET, "/api/auth_user", token: newToken).status == 401)
    }

    @Test("validation errors are 422 with field messages")
    func validation() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let reply = try await api.send(.POST, "/api/register", json: ["username": "bad name!", "password": "short"])
        #expect(reply.status == 422)
        let errors = try #require(reply.object["errors"] as? [String: String])
        #expect(errors["username"]?.contains("letters") == true)
        #expect(errors["password"] != nil)
        let long = try await api.send(.POST, "/api/register", json: ["username": uniqueName(), "password": String(repeating: "x", count: 73)])
        #expect(long.status == 422)
    }

    @Test("tokens: missing, malformed, tampered, alg none, other key, expired, query string")
    func tokens() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let session = try await api.devLogin(uniqueName())
        #expect(try await api.send(.GET, "/api/auth_user").status == 401)
        #expect(try await api.send(.GET, "/api/auth_user", token: "not-a-jwt").status == 401)
        var parts = session.token.split(separator: ".").map(String.init)
        // Tampered payload.
        let payload = try #require(Data(base64URL: parts[1]))
        var claims = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        claims["sub"] = "999999"
        let tampered = [parts[0], base64URL(try JSONSerialization.data(withJSONObject: claims)), parts[2]].joined(separator: ".")
        #expect(try await api.send(.GET, "/api/auth_user", token: tampered).status == 401)
        // alg none.
        let noneHeader = base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
        #expect(try await api.send(.GET, "/api/auth_user", token: "\(noneHeader).\(parts[1]).").status == 401)
        // Signed with another key: HS256 over our claims with a different secret.
        parts[2] = hmacSHA256Base64URL(key: Array("another key entirely".utf8), message: parts[0] + "." + parts[1])
        #expect(try await api.send(.GET, "/api/auth_user", token: parts.joined(separator: ".")).status == 401)
        // Query-string token works.
        #expect(try await api.send(.GET, "/api/auth_user?token=\(session.token)").status == 200)

        // Expired: a server whose tokens live one second.
        let shortLived = try await TestServer.start(database: server.database) { $0.tokenLifetime = .seconds(1) }
        defer { Task { await shortLived.stop() } }
        let shortAPI = APIClient(baseURL: shortLived.baseURL)
        let short = try await shortAPI.devLogin(uniqueName())
        #expect(try await shortAPI.send(.GET, "/api/auth_user", token: short.token).status == 200)
        try await Task.sleep(for: .milliseconds(2100))
        #expect(try await shortAPI.send(.GET, "/api/auth_user", token: short.token).status == 401)
    }

    @Test("dev login disabled answers 404")
    func devLoginDisabled() async throws {
        let server = try await TestServer.start { $0.devLogin = false }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        #expect(try await api.send(.POST, "/api/login", json: ["username": uniqueName()]).status == 404)
        #expect(try await api.send(.GET, "/api/config").object["devLogin"] as? Bool == false)
    }

    @Test("username search: prefix, case-insensitive, caller excluded, wildcards literal, limits")
    func search() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let prefix = uniqueName("s")
        let me = try await api.devLogin("\(prefix)_me")
        for suffix in ["a", "B", "c_d", "cxe", "cxd"] { _ = try await api.devLogin(prefix + suffix) }
        let all = try await api.send(.GET, "/api/usernames?search=\(prefix.uppercased())&first=50", token: me.token)
        #expect(all.status == 200)
        let names = (all.json as? [String]) ?? []
        #expect(Set(names) == Set(["a", "B", "c_d", "cxe", "cxd"].map { prefix + $0 }))
        let underscore = try await api.send(.GET, "/api/usernames?search=\(prefix)c_", token: me.token)
        #expect(underscore.json as? [String] == [prefix + "c_d"])
        // Unescaped, `%` would match cxd and cxe.
        let percent = try await api.send(.GET, "/api/usernames?search=\(prefix)c%25", token: me.token)
        #expect(percent.json as? [String] == [])
        let backslash = try await api.send(.GET, "/api/usernames?search=\(prefix)c%5C", token: me.token)
        #expect(backslash.json as? [String] == [])
        #expect(((try await api.send(.GET, "/api/usernames?search=\(prefix)", token: me.token)).json as? [String])?.count == 5)
        #expect(try await api.send(.GET, "/api/usernames", token: me.token).status == 422)
        #expect(try await api.send(.GET, "/api/usernames?search=a&first=51", token: me.token).status == 400)
    }

    @Test("bad input: 415, 400, 413, 429, JSON 404 and SPA fallback")
    func badInput() async throws {
        let server = try await TestServer.start { $0.loginAttemptsPerMinute = 3 }
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let noType = try await api.send(.POST, "/api/login", rawBody: #"{"username":"x"}"#, contentType: "text/plain")
        #expect(noType.status == 415)
        #expect(noType.error != nil)
        #expect(try await api.send(.POST, "/api/login", rawBody: "{not json").status == 400)
        #expect(try await api.send(.POST, "/api/login", rawBody: #"{"username": 12}"#).status == 400)
        let huge = try await api.send(.POST, "/api/register", rawBody: #"{"username":""# + String(repeating: "a", count: 70_000) + #""}"#)
        #expect(huge.status == 413)
        let name = uniqueName()
        var statuses: [Int] = []
        for _ in 0..<5 {
            statuses.append(try await api.send(.POST, "/api/login", json: ["username": name, "password": "whatever1"]).status)
        }
        #expect(statuses.prefix(3).allSatisfy { $0 == 401 })
        let limited = try await api.send(.POST, "/api/login", json: ["username": name, "password": "whatever1"])
        #expect(limited.status == 429)
        #expect(Int(limited.headers.first(name: "Retry-After") ?? "") ?? 0 > 0)
        let unknownAPI = try await api.send(.GET, "/api/nope")
        #expect(unknownAPI.status == 404)
        #expect(unknownAPI.error != nil)
    }

    @Test("tokens in query strings never reach the log")
    func tokenNotLogged() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let session = try await api.devLogin(uniqueName())
        #expect(try await api.send(.GET, "/api/auth_user?token=\(session.token)").status == 200)
        #expect(try await api.send(.GET, "/api/usernames?search=a&token=\(session.token)").status == 200)
        #expect(try await api.send(.GET, "/api/auth_user", token: session.token).status == 200)
        let sse = try await SSEClient.connect(server.baseURL, token: session.token)
        sse.close()
        let logs = server.logs.all
        #expect(logs.contains { $0.contains("/api/auth_user") })
        #expect(logs.contains { $0.contains("token=***") })
        let signature = String(session.token.split(separator: ".").last!)
        #expect(!logs.contains { $0.contains(session.token) || $0.contains(signature) })
    }
}

extension Data {
    init?(base64URL text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}

func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
        of: "=", with: "")
}

@Suite("Password login: timing and the login limiter")
struct LoginLimiterTests {
    static func login(_ server: TestServer, _ username: String, _ password: String, from address: String) async throws -> Int {
        let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
        let request = RawHTTP.request("POST", "/api/login", headers: [("Content-Type", "application/json")], body: Array(body))
        return try await RawHTTP.send(request, port: server.port, from: address).status
    }

    @Test("a client hammering one username is limited; the user still signs in from another address")
    func anonymousClientCannotLockUserOut() async throws {
        let server = try await TestServer.start { $0.loginAttemptsPerMinute = 3 }
        defer { Task { await server.stop() } }
        let name = uniqueName("victim")
        let register = try await APIClient(baseURL: server.baseURL).send(
            .POST, "/api/register", json: ["username": name, "password": "correct horse"])
        #expect(register.status == 201)
        var statuses: [Int] = []
        for _ in 0..<20 { statuses.append(try await Self.login(server, name, "wrong guess", from: "127.0.0.2")) }
        #expect(statuses.prefix(3).allSatisfy { $0 == 401 }, "\(statuses)")
        #expect(statuses.dropFirst(3).allSatisfy { $0 == 429 }, "\(statuses)")
        // The attacker's refused attempts did not count against the user.
        #expect(try await Self.login(server, name, "correct horse", from: "127.0.0.1") == 200)
    }

    @Test("guesses from many addresses reach the per-username ceiling (10 × the limit)")
    func globalCeiling() async throws {
        let server = try await TestServer.start { $0.loginAttemptsPerMinute = 2 }
        defer { Task { await server.stop() } }
        let name = uniqueName("target")
        _ = try await APIClient(baseURL: server.baseURL).send(.POST, "/api/register", json: ["username": name, "password": "correct horse"])
        // The ceiling is 20 attempts a minute on the username: the registration above plus 19 guesses from 10
        // addresses (2 each, the most any one of them may make) use it up.
        for host in 2...11 {
            for round in 0..<(host == 11 ? 1 : 2) {
                #expect(try await Self.login(server, name, "wrong guess", from: "127.0.0.\(host)") == 401, "host \(host) round \(round)")
            }
        }
        #expect(try await Self.login(server, name, "correct horse", from: "127.0.0.1") == 429)
        // Another username is not affected.
        #expect(try await Self.login(server, uniqueName("other"), "whatever1", from: "127.0.0.1") == 401)
    }

    @Test("an unknown username takes as long as a wrong password (a dummy bcrypt runs)")
    func unknownUserTiming() async throws {
        let server = try await TestServer.start {
            $0.bcryptCost = 11
            $0.loginAttemptsPerMinute = 100
        }
        defer { Task { await server.stop() } }
        let name = uniqueName("known")
        _ = try await APIClient(baseURL: server.baseURL).send(.POST, "/api/register", json: ["username": name, "password": "correct horse"])
        func time(_ username: String) async throws -> Duration {
            let start = ContinuousClock.now
            #expect(try await Self.login(server, username, "wrong guess", from: "127.0.0.3") == 401)
            return ContinuousClock.now - start
        }
        _ = try await time(uniqueName("warmup"))  // makes the dummy hash
        // Alternating, so that both see the same load from whatever else runs on the machine.
        var known: [Duration] = []
        var unknown: [Duration] = []
        for _ in 0..<9 {
            known.append(try await time(name))
            unknown.append(try await time(uniqueName("nobody")))
        }
        let knownMedian = known.sorted()[4]
        let unknownMedian = unknown.sorted()[4]
        // Cost 10 is tens of milliseconds of bcrypt; without the dummy an unknown name answers in about one.
        #expect(unknownMedian > knownMedian * 0.5, "known \(known), unknown \(unknown)")
        #expect(unknownMedian < knownMedian * 2, "known \(known), unknown \(unknown)")
    }
}
