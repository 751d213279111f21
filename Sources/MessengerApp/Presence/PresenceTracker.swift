import Foundation
import Logging
import NIOCore
import PostgresLibPQ
import Synchronization

/// Presence across instances with PostgreSQL as the only shared part.
///
/// Each instance counts its own streams per user. A user's first stream here marks them online in the shared set;
/// when their last stream here closes, a grace period starts (a reload or a reconnecting EventSource must not
/// flap), after which they are marked offline here. Every such change is announced with `NOTIFY` carrying only the
/// user id; every instance (this one too) then reads the user's presence from the database and, if it differs from
/// what it last told anybody, sends a `presence` event to the user's contacts with a stream on that instance. An
/// instance heartbeats its row; one whose heartbeat is older than ``deadAfter`` is reaped by the others (`kill -9`),
/// and its users go offline.
public final class PresenceTracker: Sendable {
    public static let channel = "messenger_presence"

    let repository: any PresenceRepository
    let notifier: PostgresNotifier?
    let registry: SubscriberRegistry
    let instanceID: String
    let grace: Duration
    let heartbeatInterval: Duration
    let deadAfter: Duration
    let logger: Logger

    private struct State {
        /// Open streams of each user on this instance.
        var local: [Int64: Int] = [:]
        /// Users whose last stream here closed, and when the grace period ends.
        var leaving: [Int64: ContinuousClock.Instant] = [:]
        /// What this instance last announced (or showed in a snapshot) for each user.
        var known: [Int64: Bool] = [:]
        /// Work for the worker: users who came online here, users whose presence may have changed anywhere.
        var arrived: Set<Int64> = []
        var changed: Set<Int64> = []
    }

    private let state = Mutex(State())
    /// A storm of arrivals: at least ``stormArrivals`` users coming online within ``stormWindow`` (100 a second).
    static let stormWindow = Duration.milliseconds(100)
    static let stormArrivals = 10
    static let stormGathering = Duration.milliseconds(20)
    /// The `presence_snapshot` reads of new streams, batched (``request(snapshotFor:deliver:)``).
    let snapshotReads = BatchedReads<PresenceTracker, Int64, ByteBuffer>(limit: 2_000) { tracker, users in
        await tracker.readSnapshots(for: users)
    }
    /// Wakes the worker; the work itself waits in `State`, so a storm of connects coalesces into a few statements.
    private let work: AsyncStream<Void>
    private let workSignal: AsyncStream<Void>.Continuation

    init(
        repository: any PresenceRepository,
        notifier: PostgresNotifier?,
        registry: SubscriberRegistry,
        instanceID: String,
        configuration: AppConfiguration,
        logger: Logger
    ) {
        self.repository = repository
        self.notifier = notifier
        self.registry = registry
        self.instanceID = instanceID
        self.grace = configuration.presenceGrace
        self.heartbeatInterval = configuration.presenceHeartbeat
        self.deadAfter = configuration.presenceHeartbeat * 4
        self.logger = logger
        (self.work, self.workSignal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Streams of this instance

    /// A stream of `userID` opened here. Never waits: connecting must stay cheap (the worker records it).
    func streamOpened(userID: Int64) {
        let first = self.state.withLock { state -> Bool in
            let count = state.local[userID, default: 0]
            state.local[userID] = count + 1
            // Back within the grace period: still online, nothing to say.
            if count == 0, state.leaving.removeValue(forKey: userID) != nil { return false }
            if count == 0 { state.arrived.insert(userID) }
            return count == 0
        }
        if first { self.workSignal.yield() }
    }

    /// A stream of `userID` here ended.
    func streamClosed(userID: Int64) {
        self.state.withLock { state in
            let count = state.local[userID, default: 0] - 1
            if count > 0 {
                state.local[userID] = count
            } else {
                state.local[userID] = nil
                state.leaving[userID] = .now + self.grace
            }
        }
    }

    // MARK: Loops (run by the realtime service)

    /// Heartbeats, reaping dead instances, and the end of grace periods.
    func run() async {
        var sinceHeartbeat = self.heartbeatInterval
        let tick = Duration.milliseconds(250)
        while !Task.isCancelled {
            if sinceHeartbeat >= self.heartbeatInterval {
                sinceHeartbeat = .zero
                do {
                    try await self.repository.heartbeat(instance: self.instanceID)
                    await self.announce(try await self.repository.reapDeadInstances(deadAfter: self.deadAfter))
                } catch {
                    self.logger.warning("presence heartbeat failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            let now = ContinuousClock.now
            let due = self.state.withLock { state -> [Int64] in
                let due = state.leaving.filter { $0.value <= now }.map(\.key)
                for userID in due { state.leaving[userID] = nil }
                return due
            }
            var offline: [Int64] = []
            for userID in due {
                do {
                    if try await self.repository.markOffline(userID: userID, instance: self.instanceID, deadAfter: self.deadAfter) {
                        offline.append(userID)
                    }
                } catch {
                    self.logger.warning("could not record presence", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            await self.announce(offline)
            do { try await Task.sleep(for: tick) } catch { return }
            sinceHeartbeat += tick
        }
    }

    /// Leaves the shared set on graceful shutdown: this instance's users who are online nowhere else go offline now,
    /// not when the others notice the missing heartbeat.
    func shutdown() async {
        do {
            await self.announce(try await self.repository.unregister(instance: self.instanceID))
        } catch {
            self.logger.warning("could not leave the presence set", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    // MARK: Announcements

    /// Tells every instance (this one included, through its own listener) that these users' presence may have
    /// changed: one `NOTIFY` per few hundred users.
    func announce(_ userIDs: [Int64]) async {
        guard !userIDs.isEmpty else { return }
        guard let notifier = self.notifier else {
            self.noteChanged(userIDs)
            return
        }
        var start = 0
        while start < userIDs.count {
            let chunk = userIDs[start..<min(start + 500, userIDs.count)]
            start += 500
            do {
                try await notifier.notify(channel: Self.channel, payload: chunk.map(String.init).joined(separator: ","))
            } catch {
                self.logger.warning("could not announce presence", metadata: ["error": "\(String(reflecting: error))"])
                self.noteChanged(Array(chunk))
            }
        }
    }

    /// A `NOTIFY` (payload: user ids) said presence may have changed; the worker reads and delivers it.
    func received(_ payload: String) {
        self.noteChanged(payload.split(separator: ",").compactMap { Int64($0) })
    }

    private func noteChanged(_ userIDs: [Int64]) {
        guard !userIDs.isEmpty else { return }
        self.state.withLock { $0.changed.formUnion(userIDs) }
        self.workSignal.yield()
    }

    /// Records arrivals and delivers changes, in batches, off the listener's path (a message wake-up never waits
    /// behind a presence storm).
    func worker() async {
        // Arrivals recorded in the current window, and in the one before it (a storm seen there still counts).
        var window = (start: ContinuousClock.now, arrivals: 0, before: 0)
        for await _ in self.work {
            // Arrivals in a storm (many users coming online within one window: a reconnect storm, a deploy) gather
            // for a moment first, so thousands of streams opening over a few seconds become a few dozen statements
            // instead of a few per user. Ordinary arrivals, even many a second, are recorded at once, and changes to
            // deliver never wait.
            let pending = self.state.withLock { $0.arrived.count }
            if pending > 0 {
                let now = ContinuousClock.now
                if now - window.start > Self.stormWindow {
                    window = (now, 0, now - window.start < Self.stormWindow * 2 ? window.arrivals : 0)
                }
                if max(window.before, window.arrivals + pending) >= Self.stormArrivals {
                    try? await Task.sleep(for: Self.stormGathering)
                }
            }
            let (arrived, changed) = self.state.withLock { state -> ([Int64], [Int64]) in
                defer {
                    state.arrived.removeAll()
                    state.changed.removeAll()
                }
                return (Array(state.arrived), Array(state.changed))
            }
            window.arrivals += arrived.count
            if !arrived.isEmpty {
                do {
                    try await self.repository.markOnline(userIDs: arrived, instance: self.instanceID)
                    await self.announce(arrived)
                } catch {
                    self.logger.warning("could not record presence", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            if !changed.isEmpty { await self.deliver(changed) }
        }
    }

    /// Reads the users' presence and tells their contacts here where it differs from what this instance last said.
    private func deliver(_ userIDs: [Int64]) async {
        do {
            let current = try await self.repository.presence(of: userIDs, deadAfter: self.deadAfter)
            let news = self.state.withLock { state -> [Int64] in
                var news: [Int64] = []
                for (userID, presence) in current where state.known[userID] != presence.online {
                    state.known[userID] = presence.online
                    news.append(userID)
                }
                return news
            }
            guard !news.isEmpty else { return }
            let contacts = try await self.repository.contacts(of: news)
            for userID in news {
                guard let presence = current[userID], let audience = contacts[userID] else { continue }
                let frame = SSEFrame.event(id: nil, name: "presence", data: Self.json(userID: userID, presence))
                self.registry.send(frame, toUsers: audience)
            }
        } catch {
            self.logger.warning("could not deliver a presence change", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    func finish() { self.workSignal.finish() }

    /// Remembers what a snapshot showed, for users this instance has not said anything about yet.
    func noteShown(_ states: [Int64: PresenceState]) {
        self.state.withLock { state in
            for (id, presence) in states where state.known[id] == nil { state.known[id] = presence.online }
        }
    }

    static func json(userID: Int64, _ state: PresenceState) -> String {
        let lastSeen = state.lastSeenAt.map { "\"" + Timestamp.format($0) + "\"" } ?? "null"
        return "{\"userId\":\"\(userID)\",\"online\":\(state.online),\"lastSeenAt\":\(lastSeen)}"
    }
}
