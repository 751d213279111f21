import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Ids travel as JSON strings in our API; accept numbers too so any tutorial-compatible server works.
struct FlexID: Decodable, Sendable, Hashable, CustomStringConvertible {
    let value: String
    var description: String { value }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            value = s
        } else if let i = try? c.decode(Int64.self) {
            value = String(i)
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "id is neither string nor integer")
        }
    }
}

struct UserDTO: Decodable, Sendable {
    let id: FlexID
    let username: String
}

struct AuthOutputDTO: Decodable, Sendable {
    let authUser: UserDTO
    let token: String
}

struct ConversationDTO: Decodable, Sendable {
    let id: FlexID
}

struct MessageDTO: Decodable, Sendable {
    let id: FlexID
    let content: String
}

/// A logged-in benchmark user.
struct BenchUser: Sendable {
    let username: String
    let id: String
    let token: String
}

/// Where the server is: parsed once from `--url`.
struct Target: Sendable {
    let base: String  // scheme://host:port[/prefix] without trailing slash
    let host: String
    let port: Int
    let pathPrefix: String  // "" or "/prefix"
    /// The host's address, resolved once: connecting by name runs NIO's resolver and happy-eyeballs state machine
    /// for every connection, client CPU that 10,000 stream connects on the server's two cores felt. Nil when the
    /// name did not resolve here (then each connect resolves it).
    let address: SocketAddress?

    init(url: String) throws {
        guard let u = URL(string: url), let host = u.host, let scheme = u.scheme else {
            throw BenchError("cannot parse --url \(url)")
        }
        guard scheme == "http" else { throw BenchError("only http:// URLs are supported (got \(scheme))") }
        self.host = host
        self.port = u.port ?? 80
        var prefix = u.path
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.pathPrefix = prefix
        self.base = "http://\(host):\(self.port)\(prefix)"
        self.address = try? SocketAddress.makeAddressResolvingHost(host, port: self.port)
    }

    /// Connects `bootstrap` to the server: to the resolved address when there is one.
    func connect(_ bootstrap: ClientBootstrap) -> EventLoopFuture<any Channel> {
        if let address { return bootstrap.connect(to: address) }
        return bootstrap.connect(host: self.host, port: self.port)
    }
}

/// Counters for HTTP answers that were retried (rate limiting), so reports can mention them.
final class HTTPCounters: Sendable {
    let rateLimited = Locked(0)
}

struct HTTPResult: Sendable {
    let status: Int
    let body: ByteBuffer
    let headers: HTTPHeaders

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
    }

    var text: String { String(buffer: body) }
}

/// The REST side of the messenger API: set-up calls over one shared AsyncHTTPClient, measured sends over
/// ``KeepAliveHTTP`` unless `--http-client ahc`.
struct API: Sendable {
    let client: HTTPClient
    let target: Target
    let counters: HTTPCounters
    let keepAlive: KeepAliveHTTP?

    func call(
        _ method: HTTPMethod, _ path: String, token: String? = nil, json: String? = nil, timeout: TimeAmount = .seconds(30)
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: target.base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 8 << 20)
        return HTTPResult(status: Int(response.status.code), body: body, headers: response.headers)
    }

    /// A measured call (the listing and search scenarios' requests): over ``KeepAliveHTTP`` like the sends, unless
    /// `--http-client ahc`, so every measured row pays the same client cost.
    func measuredCall(_ method: HTTPMethod, _ path: String, token: String?, json: String?) async throws -> HTTPResult {
        if let keepAlive { return try await keepAlive.request(method, path, token: token, json: json) }
        return try await call(method, path, token: token, json: json)
    }

    /// Setup calls: retried on 429 (honouring Retry-After) and on connection errors a few times.
    func setupCall(
        _ method: HTTPMethod, _ path: String, token: String? = nil, json: String? = nil, expect: Set<Int>
    ) async throws -> HTTPResult {
        var attempt = 0
        while true {
            attempt += 1
            let result: HTTPResult
            do {
                result = try await call(method, path, token: token, json: json)
            } catch {
                if attempt < 5 {
                    try await sleep(seconds: 0.2 * Double(attempt))
                    continue
                }
                throw BenchError("\(method) \(path): \(error)")
            }
            if expect.contains(result.status) { return result }
            if (result.status == 429 || result.status == 503) && attempt < 50 {
                counters.rateLimited.withLock { $0 += 1 }
                let retryAfter = result.headers.first(name: "Retry-After").flatMap(Double.init) ?? 0.2
                try await sleep(seconds: min(max(retryAfter, 0.05), 5))
                continue
            }
            throw BenchError("\(method) \(path) -> \(result.status): \(result.text.prefix(300))")
        }
    }

    // MARK: endpoints

    func waitReady(seconds: Double) async throws {
        let deadline = nowNs() + UInt64(seconds * 1e9)
        var last = "no answer"
        while nowNs() < deadline {
            do {
                let r = try await call(.GET, "/readyz", timeout: .seconds(2))
                if r.status == 200 { return }
                last = "GET /readyz -> \(r.status)"
                // A server without /readyz (tutorial API) is "ready" if it answers at all.
                if r.status == 404 { return }
            } catch {
                last = "\(error)"
            }
            try await sleep(seconds: 0.25)
        }
        throw BenchError("server at \(target.base) not ready after \(Int(seconds)) s (\(last))")
    }

    func login(_ username: String) async throws -> BenchUser {
        let r = try await setupCall(.POST, "/api/login", json: #"{"username":"\#(username)"}"#, expect: [200, 201])
        let out = try r.decode(AuthOutputDTO.self)
        return BenchUser(username: username, id: out.authUser.id.value, token: out.token)
    }

    func login(usernames: [String], width: Int = 16) async throws -> [BenchUser] {
        try await boundedMap(usernames, width: width) { name in try await self.login(name) }
    }

    func createDirect(_ user: BenchUser, with other: String) async throws -> String {
        let r = try await setupCall(
            .POST, "/api/conversations", token: user.token, json: #"{"username":"\#(other)"}"#, expect: [200, 201])
        return try r.decode(ConversationDTO.self).id.value
    }

    func createGroup(_ user: BenchUser, title: String, usernames: [String]) async throws -> String {
        let list = usernames.map { "\"\($0)\"" }.joined(separator: ",")
        let r = try await setupCall(
            .POST, "/api/conversations", token: user.token, json: #"{"title":"\#(title)","usernames":[\#(list)]}"#,
            expect: [200, 201])
        return try r.decode(ConversationDTO.self).id.value
    }

    /// The measured call: one POST, no retries. Content must be JSON-safe (the bench only sends [a-z0-9 ]).
    func send(_ user: BenchUser, conversation: String, content: String) async throws -> HTTPResult {
        let path = "/api/conversations/\(conversation)/messages"
        let json = #"{"content":"\#(content)"}"#
        if let keepAlive { return try await keepAlive.request(.POST, path, token: user.token, json: json) }
        return try await call(.POST, path, token: user.token, json: json)
    }
}

/// Outcome of a measured send: latency, or why it failed.
enum SendOutcome: Sendable {
    case ok(latencyNs: UInt64, messageId: String?)
    case failed(String)
}

extension API {
    func timedSend(_ user: BenchUser, conversation: String, content: String) async -> SendOutcome {
        let t0 = nowNs()
        do {
            let r = try await send(user, conversation: conversation, content: content)
            let t1 = nowNs()
            guard r.status == 201 || r.status == 200 else {
                return .failed("POST message -> \(r.status): \(r.text.prefix(200))")
            }
            let id = try? r.decode(MessageDTO.self).id.value
            return .ok(latencyNs: t1 - t0, messageId: id)
        } catch {
            return .failed("POST message: \(error)")
        }
    }
}
