import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// A real WebSocket client (swift-websocket's) on `GET /api/ws`: it records every text frame the server sends and
/// how the socket ended.
final class WSClient: Sendable {
    struct State {
        var texts: [String] = []
        var outbound: WebSocketOutboundWriter?
        var ended = false
        /// The server's close code (nil when the connection was cut without a close frame).
        var closeCode: WebSocketErrorCode?
        var closeReason: String?
        var failure: String?
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Every frame received, decoded.
    var frames: [[String: Any]] {
        self.state.withLock { $0.texts }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Frames of stream events (those with an `id`).
    var events: [[String: Any]] { self.frames.filter { $0["id"] != nil && $0["type"] as? String != "position" } }

    var ended: Bool { self.state.withLock { $0.ended } }
    var closeCode: WebSocketErrorCode? { self.state.withLock { $0.closeCode } }
    var closeReason: String? { self.state.withLock { $0.closeReason } }

    /// Connects and waits for the upgrade and the stream's first frame (`position`, or `reset`, or a replayed event):
    /// from then on the socket is subscribed.
    ///
    /// By default the stream starts with a first `resume` frame (`?resume=frame`): the server then writes nothing
    /// until the client has spoken, which keeps clear of the swift-websocket client's habit of missing frames that
    /// arrive in the same packet as the 101. `byQuery` uses `?lastEventId=` instead.
    static func open(_ baseURL: String, token: String, lastEventID: String? = nil, byQuery: Bool = false) async throws -> WSClient {
        var url = baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/api/ws?token=" + token
        if byQuery {
            if let lastEventID { url += "&lastEventId=" + lastEventID }
        } else {
            url += "&resume=frame"
        }
        let client = WSClient()
        client.start(url: url)
        if !byQuery {
            try await client.waitForConnection()
            try await client.send(json: ["type": "resume", "lastEventId": lastEventID.map { $0 as Any } ?? NSNull()])
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let (ready, ended, failure) = client.state.withLock { ($0.outbound != nil && !$0.texts.isEmpty, $0.ended, $0.failure) }
            if ready { return client }
            if ended { throw TestFailure("WebSocket ended before its first frame: \(failure ?? "closed")") }
            try await Task.sleep(for: .milliseconds(5))
        }
        client.close()
        throw TestFailure("WebSocket did not open")
    }

    /// Connects without waiting for anything (for refusals).
    static func connectRaw(_ url: String) async throws -> WSClient {
        let client = WSClient()
        client.start(url: url.replacingOccurrences(of: "http://", with: "ws://"))
        return client
    }

    /// Waits for the upgrade (not for a frame).
    func waitForConnection(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if self.state.withLock({ $0.outbound != nil }) { return }
            if self.ended { throw TestFailure("the WebSocket ended before it opened") }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestFailure("the WebSocket did not open")
    }

    private func start(url: String) {
        let task = Task {
            var logger = Logger(label: "ws-test-client")
            logger.logLevel = .critical
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: logger) {
                    inbound, outbound, _ in
                    self.state.withLock { $0.outbound = outbound }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        if case .text(let text) = message { self.state.withLock { $0.texts.append(text) } }
                    }
                }
                self.state.withLock {
                    $0.closeCode = close?.closeCode
                    $0.closeReason = close?.reason
                }
            } catch {
                self.state.withLock { $0.failure = String(describing: error) }
            }
            self.state.withLock { $0.ended = true }
        }
        self.task.withLock { $0 = task }
    }

    func send(_ text: String) async throws {
        guard let outbound = self.state.withLock({ $0.outbound }) else { throw TestFailure("not connected") }
        try await outbound.write(.text(text))
    }

    func send(json: [String: Any]) async throws {
        try await self.send(String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self))
    }

    func sendBinary(_ bytes: [UInt8]) async throws {
        guard let outbound = self.state.withLock({ $0.outbound }) else { throw TestFailure("not connected") }
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// Waits until the frames received so far satisfy `predicate`.
    @discardableResult
    func wait(timeout: Duration = .seconds(10), until predicate: ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let frames = self.frames
            if predicate(frames) { return frames }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("timed out; frames: \(self.state.withLock { $0.texts }.suffix(20))")
    }

    /// The first frame of `type` that matches, waiting for it.
    func frame(_ type: String, timeout: Duration = .seconds(10), where predicate: @escaping ([String: Any]) -> Bool = { _ in true }) async throws
        -> [String: Any]
    {
        let frames = try await self.wait(timeout: timeout) { $0.contains { $0["type"] as? String == type && predicate($0) } }
        return frames.first { $0["type"] as? String == type && predicate($0) }!
    }

    /// Sends a command and waits for its answer (the next `ack` or `error` after those already received).
    func command(_ json: [String: Any], timeout: Duration = .seconds(10)) async throws -> [String: Any] {
        let before = self.frames.filter { ["ack", "error"].contains($0["type"] as? String ?? "") }.count
        try await self.send(json: json)
        let frames = try await self.wait(timeout: timeout) { $0.filter { ["ack", "error"].contains($0["type"] as? String ?? "") }.count > before }
        return frames.filter { ["ack", "error"].contains($0["type"] as? String ?? "") }[before]
    }

    func waitForEnd(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if self.ended { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        let (texts, opened) = self.state.withLock { ($0.texts, $0.outbound != nil) }
        throw TestFailure("the WebSocket did not end; opened: \(opened), frames: \(texts.suffix(5))")
    }

    func close() {
        let outbound = self.state.withLock { $0.outbound }
        Task { try? await outbound?.close(.normalClosure, reason: nil) }
        self.task.withLock { $0?.cancel() }
    }
}

extension [String: Any] {
    /// A frame's `data` object.
    var data: [String: Any] { self["data"] as? [String: Any] ?? [:] }
}
