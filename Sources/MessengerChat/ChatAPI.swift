import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The REST side of the terminal client: the public API only, as any REST consumer would use it.
struct ChatAPI: Sendable {
    let baseURL: String
    let token: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Signs in: dev login with a username only, a password login with both.
    static func login(baseURL: String, username: String, password: String?) async throws -> (token: String, userID: String) {
        var body: [String: Any] = ["username": username]
        if let password { body["password"] = password }
        let reply = try await Self.request(baseURL: baseURL, .POST, "/api/login", token: nil, json: body)
        guard let token = reply["token"] as? String, let user = reply["authUser"] as? [String: Any], let id = user["id"] as? String else {
            throw Failure(description: "login failed: \(reply["error"] as? String ?? "no token")")
        }
        return (token, id)
    }

    /// The signed-in user (`GET /api/auth_user`).
    func me() async throws -> [String: Any] {
        try await Self.request(baseURL: self.baseURL, .GET, "/api/auth_user", token: self.token)
    }

    func conversations() async throws -> [[String: Any]] {
        try await Self.requestArray(baseURL: self.baseURL, "/api/conversations?last=100", token: self.token)
    }

    /// Up to 50 messages before `before` (the latest when nil), oldest first.
    func messages(conversationID: String, before: String?) async throws -> [[String: Any]] {
        var path = "/api/conversations/\(conversationID)/messages?last=50"
        if let before { path += "&before=\(before)" }
        return try await Self.requestArray(baseURL: self.baseURL, path, token: self.token)
    }

    /// Starts (or finds) the 1:1 conversation with `username`; returns its id.
    func startConversation(with username: String) async throws -> String {
        let reply = try await Self.request(baseURL: self.baseURL, .POST, "/api/conversations", token: self.token, json: ["username": username])
        guard let id = reply["id"] as? String else { throw Failure(description: reply["error"] as? String ?? "could not start the conversation") }
        return id
    }

    private static func execute(baseURL: String, _ method: HTTPMethod, _ path: String, token: String?, json: [String: Any]?) async throws -> Data {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        let body = try await response.body.collect(upTo: 8 * 1024 * 1024)
        return Data(body.readableBytesView)
    }

    private static func request(
        baseURL: String, _ method: HTTPMethod, _ path: String, token: String?, json: [String: Any]? = nil
    ) async throws -> [String: Any] {
        let data = try await Self.execute(baseURL: baseURL, method, path, token: token, json: json)
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    private static func requestArray(baseURL: String, _ path: String, token: String) async throws -> [[String: Any]] {
        let data = try await Self.execute(baseURL: baseURL, .GET, path, token: token, json: nil)
        guard let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            throw Failure(description: object?["error"] as? String ?? "unexpected answer from \(path)")
        }
        return array
    }
}
