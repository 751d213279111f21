import Foundation
import NIOCore
import Synchronization

/// Every open stream of this process, by user. Delivery takes the lock only to look subscribers up.
public final class SubscriberRegistry: Sendable {
    private struct State {
        var byUser: [Int64: [Subscriber]] = [:]
        var count = 0
        var nextID = 0
        /// The last position the dispatcher delivered; new subscribers start after it.
        var position: StreamPosition
        var isShutdown = false
    }

    private let state: Mutex<State>
    let maxPerUser: Int
    let bufferLimit: Int

    init(start: StreamPosition, maxPerUser: Int, bufferLimit: Int) {
        self.state = Mutex(State(position: start))
        self.maxPerUser = maxPerUser
        self.bufferLimit = bufferLimit
    }

    /// Registers a stream. Without a resume point it starts right after the last delivered event; with one it
    /// holds live events until ``Subscriber/finishReplay()``. Beyond the per-user limit the oldest stream closes.
    func add(identity: Identity, channel: any Channel, resumeFrom: StreamPosition?) -> Subscriber? {
        let (subscriber, evicted) = self.state.withLock { state -> (Subscriber?, Subscriber?) in
            guard !state.isShutdown else { return (nil, nil) }
            state.nextID += 1
            let subscriber = Subscriber(
                id: state.nextID,
                identity: identity,
                channel: channel,
                cursor: resumeFrom ?? state.position,
                replaying: resumeFrom != nil,
                bufferLimit: self.bufferLimit
            )
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
        for subscriber in targets { subscriber.deliver(event) }
    }

    var position: StreamPosition { self.state.withLock { $0.position } }

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

    func close(session sessionID: UUID) {
        for subscriber in self.all where subscriber.sessionID == sessionID {
            subscriber.close(reason: .loggedOut)
        }
    }

    /// Ends every stream and refuses new ones (graceful shutdown).
    func shutdown() {
        let all = self.state.withLock { state -> [Subscriber] in
            state.isShutdown = true
            return state.byUser.values.flatMap { $0 }
        }
        for subscriber in all { subscriber.close(reason: .shutdown) }
    }
}
