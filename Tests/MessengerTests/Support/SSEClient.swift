import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// One event (or comment) read off a real SSE connection.
struct SSEEvent: Sendable, Equatable {
    var id: String?
    var event: String?
    var data: String?
    var comment: String?
    /// When the block was complete on the client (for latency assertions).
    var receivedAt: ContinuousClock.Instant?

    var json: [String: Any] { (data.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]) ?? [:] }
}

/// A streaming SSE client over a real socket (the buffered test clients cannot read an endless body).
final class SSEClient: Sendable {
    let status: Int
    let headers: HTTPHeaders
    private let received = Mutex<[SSEEvent]>([])
    private let ended = Mutex<Bool>(false)
    private let reader: Mutex<Task<Void, Never>?> = Mutex(nil)

    /// Every event with data so far (comments and id-only blocks excluded).
    var events: [SSEEvent] { self.received.withLock { $0.filter { $0.data != nil } } }
    var all: [SSEEvent] { self.received.withLock { $0 } }
    var isEnded: Bool { self.ended.withLock { $0 } }
    /// The last `id:` seen, as a browser would send it back in `Last-Event-ID`.
    var lastEventID: String? { self.received.withLock { $0.last(where: { $0.id != nil })?.id } }

    static func connect(
        _ baseURL: String,
        token: String?,
        lastEventID: String? = nil,
        accept: String? = "text/event-stream",
        query: String = ""
    ) async throws -> SSEClient {
        var url = baseURL + "/api/messages"
        var params: [String] = []
        if let token { params.append("token=\(token)") }
        if !query.isEmpty { params.append(query) }
        if !params.isEmpty { url += "?" + params.joined(separator: "&") }
        var request = HTTPClientRequest(url: url)
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        let response: HTTPClientResponse
        do {
            response = try await SSEClient.http.execute(request, timeout: .hours(1))
        } catch let error as HTTPClientError where error == .remoteConnectionClosed {
            // A pooled keep-alive connection the server had just closed (its previous stream ended): a browser
            // retries that on a new connection, and so do we, once.
            response = try await SSEClient.http.execute(request, timeout: .hours(1))
        }
        let client = SSEClient(status: Int(response.status.code), headers: response.headers)
        let task = Task { await client.read(response.body) }
        client.reader.withLock { $0 = task }
        return client
    }

    /// Connects and waits for the stream's opening position: from then on nothing sent can be missed.
    static func open(_ baseURL: String, token: String) async throws -> SSEClient {
        let client = try await Self.connect(baseURL, token: token)
        try await RealtimeTests.waitFor { client.lastEventID != nil }
        return client
    }

    /// A client of its own so that many open streams never starve the API client's connection pool.
    static let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 2000))
    )

    private init(status: Int, headers: HTTPHeaders) {
        self.status = status
        self.headers = headers
    }

    private func read(_ body: HTTPClientResponse.Body) async {
        var pending = ""
        var current = SSEEvent()
        do {
            for try await buffer in body {
                pending += String(buffer: buffer)
                while let newline = pending.firstIndex(of: "\n") {
                    let line = String(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if line.isEmpty {
                        if current != SSEEvent() {
                            current.receivedAt = .now
                            self.received.withLock { $0.append(current) }
                        }
                        current = SSEEvent()
                    } else if line.hasPrefix(":") {
                        let comment = SSEEvent(comment: String(line.dropFirst()).trimmingCharacters(in: .whitespaces), receivedAt: .now)
                        self.received.withLock { $0.append(comment) }
                    } else {
                        let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                        let field = String(parts[0])
                        var value = parts.count > 1 ? String(parts[1]) : ""
                        if value.hasPrefix(" ") { value.removeFirst() }
                        switch field {
                        case "id": current.id = value
                        case "event": current.event = value
                        case "data": current.data = current.data.map { $0 + "\n" + value } ?? value
                        default: break
                        }
                    }
                }
            }
        } catch {}
        self.ended.withLock { $0 = true }
    }

    /// Waits until `predicate` holds for the received events, up to `timeout`.
    @discardableResult
    func wait(timeout: Duration = .seconds(10), until predicate: ([SSEEvent]) -> Bool) async throws -> [SSEEvent] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let events = self.events
            if predicate(events) { return events }
            try await Task.sleep(for: .milliseconds(5))
        }
        let seen = self.all.map { $0.event ?? ($0.comment.map { ":" + $0 } ?? ($0.data == nil ? "id" : "message")) }
        throw TestFailure("timed out waiting for SSE events; have \(self.events.count): \(seen)")
    }

    /// The time the message with `id` arrived, waiting for it up to `timeout`.
    func arrival(ofMessage id: String, timeout: Duration = .seconds(10)) async throws -> ContinuousClock.Instant {
        let events = try await self.wait(timeout: timeout) { $0.contains { $0.event == nil && $0.json["id"] as? String == id } }
        return events.first { $0.event == nil && $0.json["id"] as? String == id }!.receivedAt!
    }

    /// Waits until the server ends the stream.
    func waitForEnd(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if self.isEnded { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("stream did not end")
    }

    func close() {
        self.reader.withLock { $0?.cancel() }
    }
}
