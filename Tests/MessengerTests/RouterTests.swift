import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresLibPQ
import Testing

@testable import MessengerApp

/// HTTP-only behaviour of the real router (`MessengerServer.buildRouter`) through HummingbirdTesting's `.router`
/// mode: no listener and no database — the pool points at a socket that does not exist, so a route that reached
/// PostgreSQL would fail with 503 instead of the answer asserted here.
@Suite("Router without a server or database")
struct RouterTests {
    static func application() async -> some ApplicationProtocol {
        let logger = Logger(label: "router-test")
        var configuration = AppConfiguration()
        configuration.jwtKey = Array(repeating: 7, count: 32)
        let database = PostgresConfiguration(parameters: [("host", "/nonexistent"), ("user", "x"), ("dbname", "x")])
        let pool = PostgresConnectionPool(configuration: database, maximumConnections: 1, logger: logger)
        let users = PostgresUserRepository(pool: pool)
        let conversations = PostgresConversationRepository(pool: pool, maxGroupSize: 10, presenceDeadAfter: nil, pushCoalesceWindow: nil)
        let presence = PostgresPresenceRepository(pool: pool)
        let sessions = SessionCache(ttl: .seconds(5))
        let realtime = RealtimeService(
            stream: PostgresStreamRepository(pool: pool),
            users: users,
            presence: presence,
            codec: StreamPositionCodec(serverKey: configuration.jwtKey, databaseToken: "test"),
            start: StreamPosition(tx: 0, id: 0, time: 0),
            listener: nil,
            notifier: nil,
            sessions: sessions,
            configuration: configuration,
            logger: logger
        )
        let tokens = await TokenService(key: configuration.jwtKey, lifetime: .seconds(60))
        let router = MessengerServer.buildRouter(
            configuration: configuration,
            metrics: AppMetrics(),
            pool: pool,
            users: users,
            conversations: conversations,
            search: PostgresSearchRepository(pool: pool),
            presence: presence,
            realtime: realtime,
            authenticator: Authenticator(tokens: tokens, users: users, sessions: sessions)
        )
        return Application(router: router, logger: logger)
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    }

    @Test("an unknown route is a JSON 404 with the security headers")
    func unknownRoute() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/api/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(String(buffer: response.body) == #"{"error":"not found"}"#)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.contentSecurityPolicy] == SecurityHeadersMiddleware<AppRequestContext>.contentSecurityPolicy)
            }
        }
    }

    @Test("a JSON body past the configured limit is 413, a non-JSON body 415, malformed JSON 400 — before any database work")
    func bodies() async throws {
        try await Self.application().test(.router) { client in
            let big = ByteBuffer(string: "{\"username\":\"" + String(repeating: "a", count: 70 * 1024) + "\"}")
            try await client.execute(
                uri: "/api/register", method: .post,
                headers: [.contentType: "application/json", .contentLength: "\(big.readableBytes)"], body: big
            ) { response in
                #expect(response.status == .contentTooLarge)
                #expect(Self.json(response.body)["error"] as? String == "request body too large")
            }
            let text = ByteBuffer(string: "username=a")
            try await client.execute(
                uri: "/api/register", method: .post,
                headers: [.contentType: "text/plain", .contentLength: "\(text.readableBytes)"], body: text
            ) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(Self.json(response.body)["error"] as? String == "Content-Type must be application/json")
            }
            let malformed = ByteBuffer(string: "{\"username\":")
            try await client.execute(
                uri: "/api/register", method: .post,
                headers: [.contentType: "application/json", .contentLength: "\(malformed.readableBytes)"], body: malformed
            ) { response in
                #expect(response.status == .badRequest)
                #expect(Self.json(response.body)["error"] as? String == "malformed JSON")
            }
        }
    }

    @Test("a guarded route without a token is 401 with WWW-Authenticate: Bearer")
    func unauthorized() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/api/conversations", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                #expect(Self.json(response.body)["error"] as? String == "missing token")
            }
        }
    }

    @Test("the OpenAPI document is served as JSON and names the API's paths")
    func openAPI() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/api/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let paths = Self.json(response.body)["paths"] as? [String: Any]
                #expect(paths?["/api/conversations"] != nil)
            }
        }
    }
}
