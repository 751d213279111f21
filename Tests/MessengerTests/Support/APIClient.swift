import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small HTTP client for the API: one helper per endpoint, JSON in and out.
struct APIClient: Sendable {
    let baseURL: String
    static let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(30))))

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        var json: Any? { try? JSONSerialization.jsonObject(with: self.body, options: [.fragmentsAllowed]) }
        var object: [String: Any] { (self.json as? [String: Any]) ?? [:] }
        var array: [[String: Any]] { (self.json as? [[String: Any]]) ?? [] }
        var error: String? { self.object["error"] as? String }
    }

    func send(
        _ method: HTTPMethod,
        _ path: String,
        token: String? = nil,
        json: Any? = nil,
        rawBody: String? = nil,
        contentType: String? = "application/json",
        headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        } else if let rawBody {
            request.body = .bytes(ByteBuffer(string: rawBody))
        }
        if (json != nil || rawBody != nil), let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await Self.http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView))
    }

    // MARK: Endpoint helpers

    struct Session: Sendable {
        var userID: String
        var username: String
        var token: String
    }

    func devLogin(_ username: String) async throws -> Session {
        let reply = try await self.send(.POST, "/api/login", json: ["username": username])
        guard reply.status == 200, let user = reply.object["authUser"] as? [String: Any], let token = reply.object["token"] as? String else {
            throw TestFailure("dev login of \(username) failed: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        }
        return Session(userID: user["id"] as! String, username: username, token: token)
    }

    func startConversation(_ session: Session, with username: String) async throws -> String {
        let reply = try await self.send(.POST, "/api/conversations", token: session.token, json: ["username": username])
        guard reply.status == 201 || reply.status == 200, let id = reply.object["id"] as? String else {
            throw TestFailure("start conversation failed: \(reply.status)")
        }
        return id
    }

    func createGroup(_ session: Session, title: String, usernames: [String]) async throws -> String {
        let reply = try await self.send(.POST, "/api/conversations", token: session.token, json: ["title": title, "usernames": usernames])
        guard reply.status == 201, let id = reply.object["id"] as? String else { throw TestFailure("create group failed: \(reply.status)") }
        return id
    }

    @discardableResult
    func sendMessage(_ session: Session, _ conversationID: String, _ content: String, clientID: String? = nil) async throws -> [String: Any] {
        var body: [String: Any] = ["content": content]
        if let clientID { body["clientId"] = clientID }
        let reply = try await self.send(.POST, "/api/conversations/\(conversationID)/messages", token: session.token, json: body)
        guard reply.status == 201 || reply.status == 200 else { throw TestFailure("send failed: \(reply.status) \(reply.error ?? "")") }
        return reply.object
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Unique names so tests sharing a database never collide.
func uniqueName(_ prefix: String = "u") -> String {
    "\(prefix)\(UInt32.random(in: 0...UInt32.max))"
}
