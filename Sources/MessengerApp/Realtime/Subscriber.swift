import Foundation
import NIOCore
import Synchronization

/// One open stream: an SSE response or a WebSocket (which translates the same frames, see ``WebSocketFrame``).
///
/// Delivery never waits: a frame that does not fit closes the connection instead (its client reconnects with
/// `Last-Event-ID` and catches up from the database), so a slow reader cannot hold up anybody.
///
/// Frames reach the client one of two ways (``Output``):
/// - SSE: until its response has started (head, presence snapshot, replay) frames wait in a small array; then
///   ``startDirect()`` hands the stream to the dispatcher, which writes frames straight to the connection's
///   ``StreamSocketHandler`` on its event loop, batched per event loop with one flush per connection. The response
///   task only waits (``untilClosed()``) for the end. A connection whose unsent bytes pass its high-water mark is cut.
/// - WebSocket: a bounded queue of frames that the socket's writer task drains.
public final class Subscriber: Sendable {
    public let userID: Int64
    public let sessionID: UUID
    public let expiresAt: Date
    private let output: Output
    private let channel: any Channel
    private let state: Mutex<State>
    private let bufferLimit: Int
    private let metrics: AppMetrics

    /// Where frames go.
    enum Output: Sendable {
        /// A queue drained by the socket's writer task (``Subscriber/frames``).
        case queue(AsyncStream<ByteBuffer>, AsyncStream<ByteBuffer>.Continuation)
        /// Written directly to the connection by whoever delivers (after ``Subscriber/startDirect()``).
        case socket(StreamSocketHandler, any EventLoop)
    }

    struct State {
        /// Frames at or before this position were already sent (or predate the subscription).
        var cursor: StreamPosition
        /// While replaying from the database, live events wait here.
        var held: [StreamEvent]?
        /// A direct subscriber's frames before its response started; nil once they go straight to the connection.
        var pending: [ByteBuffer]?
        var closed = false
        /// Why it ended (the WebSocket transport turns it into a close code).
        var closeReason: CloseReason?
        /// Whether this stream still counts towards its user's presence.
        var countsForPresence = true
        /// The response task waiting for the end (direct subscribers).
        var waiter: CheckedContinuation<Void, Never>?
    }

    private static let noFrames: AsyncStream<ByteBuffer> = {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        continuation.finish()
        return stream
    }()

    /// - Parameters:
    ///   - opening: the first frame (the position or a reset), queued before any event can be: the stream never
    ///     announces a position ahead of frames still waiting.
    ///   - socket: the connection's handler for direct writes (SSE); nil for a queued subscriber (WebSocket).
    init(
        identity: Identity, channel: any Channel, socket: StreamSocketHandler?, cursor: StreamPosition, replaying: Bool,
        opening: ByteBuffer?, bufferLimit: Int, metrics: AppMetrics
    ) {
        self.userID = identity.userID
        self.sessionID = identity.sessionID
        self.expiresAt = identity.expiresAt
        self.channel = channel
        self.bufferLimit = bufferLimit
        self.metrics = metrics
        var state = State(cursor: cursor, held: replaying ? [] : nil)
        if let socket {
            self.output = .socket(socket, channel.eventLoop)
            state.pending = opening.map { [$0] } ?? []
        } else {
            let (frames, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(bufferLimit))
            self.output = .queue(frames, continuation)
            if let opening { continuation.yield(opening) }
        }
        self.state = Mutex(state)
        // However the connection ends (the client left, a write failed, the server closed it), the stream ends
        // with it: the subscriber never outlives its socket, whatever state its response writer is in.
        channel.closeFuture.whenComplete { [weak self] _ in self?.close(reason: .disconnected) }
    }

    /// The queued frames (WebSocket); an empty, finished sequence for a direct (SSE) subscriber.
    var frames: AsyncStream<ByteBuffer> {
        if case .queue(let frames, _) = self.output { return frames }
        return Self.noFrames
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

    /// Whether a task drains this stream's frames (a WebSocket), so that it ends some time after ``close(reason:)``.
    var isQueued: Bool {
        if case .queue = self.output { return true }
        return false
    }

    /// The position this subscriber has reached.
    var cursor: StreamPosition { self.state.withLock { $0.cursor } }

    /// Hands a live event to the stream (or holds it during replay). Never blocks.
    func deliver(_ event: StreamEvent) {
        var batch = SocketBatch()
        self.deliver(event, into: &batch)
        batch.send()
    }

    /// Hands a live event to the stream; a direct write is added to `batch` (the caller sends it).
    func deliver(_ event: StreamEvent, into batch: inout SocketBatch) {
        let (overflow, direct) = self.state.withLock { state -> (Bool, ByteBuffer?) in
            guard !state.closed, event.position > state.cursor else { return (false, nil) }
            if state.held != nil {
                state.held!.append(event)
                return (state.held!.count > self.bufferLimit, nil)
            }
            state.cursor = event.position
            return self.output(event.actorID == self.userID ? event.actorFrame : event.othersFrame, state: &state)
        }
        if let direct { batch.add(self, direct) }
        if overflow { self.close(reason: .tooSlow) }
    }

    /// Sends a frame that is not an event (heartbeat, presence, typing).
    func send(_ frame: ByteBuffer) {
        var batch = SocketBatch()
        self.send(frame, into: &batch)
        batch.send()
    }

    /// Sends a frame that is not an event; a direct write is added to `batch` (the caller sends it).
    func send(_ frame: ByteBuffer, into batch: inout SocketBatch) {
        let (overflow, direct) = self.state.withLock { state -> (Bool, ByteBuffer?) in
            guard !state.closed, state.held == nil else { return (false, nil) }
            return self.output(frame, state: &state)
        }
        if let direct { batch.add(self, direct) }
        if overflow { self.close(reason: .tooSlow) }
    }

    /// Queues or keeps `frame` (under the lock); returns whether it overflowed, or the frame to write directly.
    private func output(_ frame: ByteBuffer, state: inout State) -> (Bool, ByteBuffer?) {
        switch self.output {
        case .queue(_, let continuation):
            return (!Self.enqueue(frame, continuation), nil)
        case .socket:
            if state.pending != nil {
                state.pending!.append(frame)
                return (state.pending!.count > self.bufferLimit, nil)
            }
            return (false, frame)
        }
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
                // Still before `startDirect()`: a direct subscriber keeps these as pending frames.
                if self.output(event.actorID == self.userID ? event.actorFrame : event.othersFrame, state: &state).0 { return true }
            }
            return false
        }
        if overflow { self.close(reason: .tooSlow) }
    }

    /// The response has started (head, snapshot, replay written through the response writer): from now on frames
    /// go straight to the connection, beginning with those that waited. Called once, by the response task, after its
    /// last write returned; the writes it schedules run on the event loop after that one, so the order holds.
    /// - Parameter first: a frame to write before those that waited (the presence snapshot), in the same write.
    /// - Parameter flushing: the response head was written but not flushed: flush even when no frame is written (a
    ///   live stream always has its position frame waiting; this keeps a head from ever staying unsent).
    func startDirect(first: ByteBuffer? = nil, flushing: Bool = false) {
        guard case .socket(let handler, let loop) = self.output else { return }
        let endedMeanwhile = self.state.withLock { state -> CloseReason? in
            guard let pending = state.pending else { return nil }
            state.pending = nil
            if state.closed { return state.closeReason }
            let frames = (first.map { [$0] } ?? []) + pending
            guard !frames.isEmpty else {
                if flushing { loop.execute { handler.flush() } }
                return nil
            }
            // Under the lock: any frame delivered after this one is scheduled after it.
            let writes = frames.map { (self, $0) }
            loop.execute { Self.write(writes) }
            return nil
        }
        // Closed while the response was starting: a response that nobody waits for ends here.
        if let endedMeanwhile { self.endOwnedResponse(endedMeanwhile) }
    }

    /// Ends a response that ``DirectStreamOpener`` started (no task waits for it to end): a replaced stream is told
    /// so, a shut-down one ends cleanly; the other reasons close the connection (or it already closed).
    private func endOwnedResponse(_ reason: CloseReason) {
        guard case .socket(let handler, let loop) = self.output, handler.ownsResponse else { return }
        switch reason {
        case .replaced:
            loop.execute { handler.end(with: SSEFrame.closed(reason: reason.rawValue)) }
        case .shutdown:
            loop.execute { handler.end(with: nil) }
        case .tooSlow, .loggedOut, .expired, .disconnected:
            return
        }
    }

    /// Waits until the stream ends (a direct subscriber's response task parks here; it costs no more than a
    /// continuation).
    func untilClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let closed = self.state.withLock { state -> Bool in
                if state.closed { return true }
                state.waiter = continuation
                return false
            }
            if closed { continuation.resume() }
        }
    }

    private var isOpen: Bool { self.state.withLock { !$0.closed } }

    /// Writes frames to their connections; runs on their (common) event loop. A subscriber that closed meanwhile is
    /// skipped (its response may already have ended), one whose connection is backed up is cut off.
    ///
    /// Each connection is flushed as soon as its frames are written, when the next write is for another one: a
    /// connection's frames in one call are contiguous (a delivery batch holds each connection once; a stream's start
    /// is its own call), so it still gets one `writev` for all of them (head, position and snapshot leave together),
    /// and the first member of a group gets its frame without waiting for every other member's to be written first.
    static func write(_ writes: [(Subscriber, ByteBuffer)]) {
        var slow: [Subscriber] = []
        var chunks = ChunkedFrameCache()
        var unflushed: StreamSocketHandler?
        for (subscriber, frame) in writes {
            guard case .socket(let handler, _) = subscriber.output, subscriber.isOpen else { continue }
            if let previous = unflushed, previous !== handler {
                previous.flush()
                unflushed = nil
            }
            if handler.write(frame: frame, chunks: &chunks) {
                unflushed = handler
            } else {
                slow.append(subscriber)
            }
        }
        unflushed?.flush()
        for subscriber in slow { subscriber.close(reason: .tooSlow) }
    }

    private static func enqueue(_ frame: ByteBuffer, _ continuation: AsyncStream<ByteBuffer>.Continuation) -> Bool {
        switch continuation.yield(frame) {
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
    /// is told so with a named `closed` event first (a direct subscriber's response task writes it, or, for a
    /// response that ``DirectStreamOpener`` started, this subscriber).
    func close(reason: CloseReason) {
        let (wasOpen, waiter, started) = self.state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?, Bool) in
            guard !state.closed else { return (false, nil, false) }
            state.closed = true
            state.closeReason = reason
            defer { state.waiter = nil }
            return (true, state.waiter, state.pending == nil)
        }
        guard wasOpen else { return }
        // Before ``startDirect()`` the opener is still writing the response's start; it ends the response then.
        if started { self.endOwnedResponse(reason) }
        self.metrics.streamClosed(reason)
        if case .queue(_, let continuation) = self.output {
            if reason == .replaced { continuation.yield(SSEFrame.closed(reason: reason.rawValue)) }
            continuation.finish()
        }
        waiter?.resume()
        if reason == .tooSlow || reason == .loggedOut || reason == .expired {
            self.channel.close(promise: nil)
        }
    }
}

/// Direct writes collected while delivering one event (or one frame) to many subscribers, sent as one task per
/// event loop: a group of 1,000 costs two event-loop hops, not 1,000 task wake-ups.
struct SocketBatch: ~Copyable {
    private var byLoop: [ObjectIdentifier: (loop: any EventLoop, writes: [(Subscriber, ByteBuffer)])] = [:]

    mutating func add(_ subscriber: Subscriber, _ frame: ByteBuffer) {
        guard let loop = subscriber.eventLoop else { return }
        self.byLoop[ObjectIdentifier(loop), default: (loop, [])].writes.append((subscriber, frame))
    }

    consuming func send() {
        for (_, group) in self.byLoop {
            let writes = group.writes
            group.loop.execute { Subscriber.write(writes) }
        }
    }
}

extension Subscriber {
    /// The event loop of a direct subscriber's connection.
    fileprivate var eventLoop: (any EventLoop)? {
        if case .socket(_, let loop) = self.output { return loop }
        return nil
    }
}
