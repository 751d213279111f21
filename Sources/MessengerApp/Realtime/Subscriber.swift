import Foundation
import NIOCore
import Synchronization

/// One open stream (SSE, or a WebSocket that translates the same frames, see ``WebSocketFrame``): a bounded queue of frames that its response writer drains.
///
/// Delivery never waits: a frame that does not fit in the queue closes the connection instead (its client
/// reconnects with `Last-Event-ID` and catches up from the database), so a slow reader cannot hold up anybody.
public final class Subscriber: Sendable {
    public let userID: Int64
    public let sessionID: UUID
    public let expiresAt: Date
    let frames: AsyncStream<ByteBuffer>
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let channel: any Channel
    private let state: Mutex<State>
    private let bufferLimit: Int
    private let metrics: AppMetrics

    struct State {
        /// Frames at or before this position were already sent (or predate the subscription).
        var cursor: StreamPosition
        /// While replaying from the database, live events wait here.
        var held: [StreamEvent]?
        var closed = false
        /// Why it ended (the WebSocket transport turns it into a close code).
        var closeReason: CloseReason?
        /// Whether this stream still counts towards its user's presence.
        var countsForPresence = true
    }

    /// - Parameter opening: the first frame (the position or a reset), queued before any event can be: the stream
    ///   never announces a position ahead of frames still waiting in its queue.
    init(
        identity: Identity, channel: any Channel, cursor: StreamPosition, replaying: Bool, opening: ByteBuffer?, bufferLimit: Int,
        metrics: AppMetrics
    ) {
        self.userID = identity.userID
        self.sessionID = identity.sessionID
        self.expiresAt = identity.expiresAt
        self.channel = channel
        self.bufferLimit = bufferLimit
        self.metrics = metrics
        (self.frames, self.continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(bufferLimit))
        self.state = Mutex(State(cursor: cursor, held: replaying ? [] : nil))
        if let opening { self.continuation.yield(opening) }
        // However the connection ends (the client left, a write failed, the server closed it), the stream ends
        // with it: the subscriber never outlives its socket, whatever state its response writer is in.
        channel.closeFuture.whenComplete { [weak self] _ in self?.close(reason: .disconnected) }
    }

    /// Stops counting this stream for presence; true the first time only (a stream can end by several paths).
    func releasePresence() -> Bool {
        self.state.withLock { state in
            defer { state.countsForPresence = false }
            return state.countsForPresence
        }
    }

    /// Why the stream ended; nil while it is open.
    var closeReason: CloseReason? { self.state.withLock { $0.closeReason } }

    /// The position this subscriber has reached.
    var cursor: StreamPosition { self.state.withLock { $0.cursor } }

    /// Hands a live event to the stream (or holds it during replay). Never blocks.
    func deliver(_ event: StreamEvent) {
        let overflow = self.state.withLock { state -> Bool in
            guard !state.closed, event.position > state.cursor else { return false }
            if state.held != nil {
                state.held!.append(event)
                return state.held!.count > self.bufferLimit
            }
            state.cursor = event.position
            return !self.enqueue(event.actorID == self.userID ? event.actorFrame : event.othersFrame)
        }
        if overflow { self.close(reason: .tooSlow) }
    }

    /// Sends a frame that is not an event (heartbeat).
    func send(_ frame: ByteBuffer) {
        let overflow = self.state.withLock { state -> Bool in
            guard !state.closed, state.held == nil else { return false }
            return !self.enqueue(frame)
        }
        if overflow { self.close(reason: .tooSlow) }
    }

    /// Records replayed events as sent.
    func advance(to position: StreamPosition) {
        self.state.withLock { state in
            if position > state.cursor { state.cursor = position }
        }
    }

    /// Ends the replay: held events after the replayed ones go out first, then live delivery continues.
    func finishReplay() {
        let overflow = self.state.withLock { state -> Bool in
            guard let held = state.held else { return false }
            state.held = nil
            for event in held where event.position > state.cursor {
                state.cursor = event.position
                if !self.enqueue(event.actorID == self.userID ? event.actorFrame : event.othersFrame) { return true }
            }
            return false
        }
        if overflow { self.close(reason: .tooSlow) }
    }

    private func enqueue(_ frame: ByteBuffer) -> Bool {
        switch self.continuation.yield(frame) {
        case .enqueued: return true
        case .dropped: return false
        case .terminated: return true
        @unknown default: return true
        }
    }

    enum CloseReason: String, CaseIterable {
        /// Its queue overflowed: the client should reconnect and resume.
        case tooSlow = "too_slow"
        /// A newer stream of the same user took its place (per-user limit): the client must not reconnect, or its
        /// tabs would evict each other forever.
        case replaced = "too_many_streams"
        case loggedOut = "logged_out"
        case expired = "expired"
        case shutdown = "shutdown"
        /// The client went away.
        case disconnected = "disconnected"
    }

    /// Ends the stream. A stream cut off for being slow, logged out or expired also has its connection closed,
    /// since its writer may be stuck on a full socket; the others end their response cleanly. A replaced stream
    /// is told so with a named `closed` event first.
    func close(reason: CloseReason) {
        let wasOpen = self.state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.closed = true
            state.closeReason = reason
            return true
        }
        guard wasOpen else { return }
        self.metrics.streamClosed(reason)
        if reason == .replaced { self.continuation.yield(SSEFrame.closed(reason: reason.rawValue)) }
        self.continuation.finish()
        if reason == .tooSlow || reason == .loggedOut || reason == .expired {
            self.channel.close(promise: nil)
        }
    }
}
