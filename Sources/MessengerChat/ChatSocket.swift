import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization

/// The client's WebSocket (`GET /api/ws`): keeps the last position it saw and reconnects with it, so a server
/// restart or a dropped connection loses nothing.
final class ChatSocket: Sendable {
    enum Event: Sendable {
        case connected
        case disconnected(String)
        /// One JSON frame from the server, as text.
        case frame(String)
    }

    let url: String
    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let state = Mutex<(outbound: WebSocketOutboundWriter?, lastEventID: String?)>((nil, nil))

    init(baseURL: String, token: String) {
        // `resume=frame`: the server writes nothing before our first frame (the `resume` with our position), so no
        // frame can arrive in the same packet as the 101, where the WebSocket client could miss it.
        self.url = baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/api/ws?resume=frame&token=" + token
        (self.events, self.continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Connects and reconnects until cancelled (0.5 s, doubling up to 5 s, between attempts), each time resuming
    /// after the last position seen.
    func run() async {
        var logger = Logger(label: "messenger-chat")
        logger.logLevel = .critical
        var delay = Duration.milliseconds(500)
        while !Task.isCancelled {
            let url = self.url
            let last = self.state.withLock { $0.lastEventID }
            var reason = "closed"
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: logger) {
                    inbound, outbound, _ in
                    let resume: [String: Any] = ["type": "resume", "lastEventId": last.map { $0 as Any } ?? NSNull()]
                    try await outbound.write(.text(String(decoding: try JSONSerialization.data(withJSONObject: resume), as: UTF8.self)))
                    self.state.withLock { $0.outbound = outbound }
                    self.continuation.yield(.connected)
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        guard case .text(let text) = message else { continue }
                        self.notePosition(text)
                        self.continuation.yield(.frame(text))
                    }
                }
                if let close { reason = "closed (\(close.closeCode))" }
            } catch {
                reason = "connection lost"
            }
            // A connection that was up starts the back-off again from the beginning.
            if self.state.withLock({ $0.outbound != nil }) { delay = .milliseconds(500) }
            self.state.withLock { $0.outbound = nil }
            self.continuation.yield(.disconnected(reason))
            do { try await Task.sleep(for: delay) } catch { break }
            delay = min(delay * 2, .seconds(5))
        }
        self.continuation.finish()
    }

    /// Remembers the position of each frame that has one, to resume from after a reconnect.
    private func notePosition(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let id = object["id"] as? String else {
            return
        }
        self.state.withLock { $0.lastEventID = id }
    }

    /// Sends a command frame; false while disconnected.
    func send(_ json: [String: Any]) async -> Bool {
        guard let outbound = self.state.withLock({ $0.outbound }), let data = try? JSONSerialization.data(withJSONObject: json) else { return false }
        do {
            try await outbound.write(.text(String(decoding: data, as: UTF8.self)))
            return true
        } catch {
            return false
        }
    }
}
