import Foundation
import NIOCore
import Synchronization

/// Every open stream of this process, by user. Delivery takes the lock only to look subscribers up.
public final class SubscriberRegistry: Sendable {
    private struct State {
        var byUser: [Int64: [Subscriber]] = [:]
        var count = 0
        /// The last position the dispatcher delivered; new subscribers start after it.
        var position: StreamPosition
        var isShutdown = false
        /// The SSE id of `position`, kept while it stays the position: a crowd of streams opening between two events
        /// signs it once, not once each.
        var positionID: (position: StreamPosition, id: String)?

        mutating func currentID(_ codec: StreamPositionCodec) -> String {
            if let cached = self.positionID, cached.position == self.position { return cached.id }
            let id = codec.encode(self.position)
            self.positionID = (self.position, id)
            return id
        }
    }

    private let state: Mutex<State>
    let maxPerUser: Int
    let bufferLimit: Int
    let codec: StreamPositionCodec
    let metrics: AppMetrics

    init(start: StreamPosition, maxPerUser: Int, bufferLimit: Int, codec: StreamPositionCodec, metrics: AppMetrics) {
        self.state = Mutex(State(position: start))
        self.maxPerUser = maxPerUser
        self.bufferLimit = bufferLimit
        self.codec = codec
        self.metrics = metrics
    }

    /// How a new stream starts.
    enum Mode {
        /// Live, right after the last delivered event; the stream opens with that position.
        case live
        /// The client's position is unknown: it opens with `event: reset` at the last delivered event.
        case reset
        /// Replays from the client's position while live events wait (see ``Subscriber/finishReplay()``).
        case resume(StreamPosition)
    }

    /// Registers a stream (writing directly through `socket` when given, see ``Subscriber``). Beyond the per-user limit
    /// the oldest stream closes.
    func add(identity: Identity, channel: any Channel, socket: StreamSocketHandler? = nil, mode: Mode) -> Subscriber? {
        let (subscriber, evicted) = self.state.withLock { state -> (Subscriber?, Subscriber?) in
            guard !state.isShutdown else { return (nil, nil) }
            let subscriber: Subscriber
            // Under the lock, so no event can be delivered to it before its opening frame is queued.
            switch mode {
            case .live, .reset:
                let id = state.currentID(self.codec)
                subscriber = Subscriber(
                    identity: identity,
                    channel: channel,
                    socket: socket,
                    cursor: state.position,
                    replaying: false,
                    opening: mode.isReset ? SSEFrame.reset(at: id) : SSEFrame.position(id),
                    bufferLimit: self.bufferLimit,
                    metrics: self.metrics
                )
            case .resume(let position):
                subscriber = Subscriber(
                    identity: identity, channel: channel, socket: socket, cursor: position, replaying: true, opening: nil,
                    bufferLimit: self.bufferLimit, metrics: self.metrics)
            }
            var list = state.byUser[identity.userID] ?? []
            var evicted: Subscriber?
            if list.count >= self.maxPerUser {
                evicted = list.removeFirst()
                state.count -= 1
            }
            list.append(subscriber)
            state.byUser[identity.userID] = list
            state.count += 1
            return (subscriber, evicted)
        }
        evicted?.close(reason: .replaced)
        return subscriber
    }

    func remove(_ subscriber: Subscriber) {
        self.state.withLock { state in
            guard var list = state.byUser[subscriber.userID], let index = list.firstIndex(where: { $0 === subscriber }) else { return }
            list.remove(at: index)
            state.byUser[subscriber.userID] = list.isEmpty ? nil : list
            state.count -= 1
        }
    }

    /// Sends a frame that is not a replayable event (presence, typing) to the given users' streams, except `excluded`.
    func send(_ frame: ByteBuffer, toUsers userIDs: [Int64], excluding excluded: Int64? = nil) {
        let targets = self.state.withLock { state -> [Subscriber] in
            var targets: [Subscriber] = []
            for userID in userIDs where userID != excluded {
                if let list = state.byUser[userID] { targets.append(contentsOf: list) }
            }
            return targets
        }
        var batch = SocketBatch()
        for subscriber in targets { subscriber.send(frame, into: &batch) }
        batch.send()
    }

    /// Delivers one event to the given users' streams and records it as the latest position.
    func deliver(_ event: StreamEvent, to userIDs: [Int64]) {
        let targets = self.state.withLock { state -> [Subscriber] in
            if event.position > state.position { state.position = event.position }
            var targets: [Subscriber] = []
            for userID in userIDs {
                if let list = state.byUser[userID] { targets.append(contentsOf: list) }
            }
            return targets
        }
        var batch = SocketBatch()
        for subscriber in targets { subscriber.deliver(event, into: &batch) }
        batch.send()
        self.metrics.eventsDelivered.increment(by: targets.count)
    }

    var position: StreamPosition { self.state.withLock { $0.position } }

    /// Moves the latest position past rows that were read but delivered to nobody (skipped rows).
    func advance(to position: StreamPosition) {
        self.state.withLock { state in
            if position > state.position { state.position = position }
        }
    }

    var isShutdown: Bool { self.state.withLock { $0.isShutdown } }

    /// Moves the start position to `position` only while nobody is subscribed (then there is nobody to deliver
    /// to, and reading the events would be wasted work). Atomic with ``add(identity:channel:resumeFrom:)``.
    func advanceIfEmpty(to position: StreamPosition) -> Bool {
        self.state.withLock { state in
            guard state.count == 0 else { return false }
            if position > state.position { state.position = position }
            return true
        }
    }

    var all: [Subscriber] { self.state.withLock { $0.byUser.values.flatMap { $0 } } }

    /// Open streams in this process.
    public var count: Int { self.state.withLock { $0.count } }

    /// Open streams whose frames a task writes (WebSocket), which end asynchronously after ``shutdown()``.
    var queuedCount: Int {
        self.state.withLock { state in
            state.byUser.values.reduce(0) { total, list in
                total + list.count(where: \.isQueued)
            }
        }
    }

    func close(session sessionID: UUID) {
        self.close(sessions: [sessionID])
    }

    func close(sessions: Set<UUID>) {
        for subscriber in self.all where sessions.contains(subscriber.sessionID) {
            subscriber.close(reason: .loggedOut)
        }
    }

    /// The sessions of every open stream.
    var sessionIDs: Set<UUID> { self.state.withLock { Set($0.byUser.values.lazy.flatMap { $0 }.map(\.sessionID)) } }

    /// Ends every stream and refuses new ones (graceful shutdown).
    func shutdown() {
        let all = self.state.withLock { state -> [Subscriber] in
            state.isShutdown = true
            return state.byUser.values.flatMap { $0 }
        }
        for subscriber in all { subscriber.close(reason: .shutdown) }
    }
}

extension SubscriberRegistry.Mode {
    var isReset: Bool {
        if case .reset = self { return true }
        return false
    }
}
