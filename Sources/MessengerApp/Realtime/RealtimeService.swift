import Foundation
import Logging
import NIOCore
import PostgresLibPQ
import ServiceLifecycle
import Synchronization

/// Delivers the stream: reads committed events from PostgreSQL in order and pushes them to this process's
/// subscribers; wakes on local commits, on other instances' `NOTIFY`, and on a slow tick as a safety net.
///
/// It is the ``ConversationEvents`` implementation: after a commit the conversation layer pokes it, and it reads
/// what was committed. Other instances are woken by one coalesced `NOTIFY` carrying only this instance's id.
public final class RealtimeService: Service, ConversationEvents, Sendable {
    public static let eventsChannel = "messenger_events"
    public static let sessionsChannel = "messenger_sessions"
    /// The listener connection's `application_name`, by which instances find each other in `pg_stat_activity`.
    public static let listenerApplicationName = "messenger-listener"

    let stream: any StreamRepository
    public let registry: SubscriberRegistry
    let listener: PostgresListener?
    let notifier: PostgresNotifier?
    let sessions: SessionCache
    let configuration: AppConfiguration
    let logger: Logger
    let instanceID: String
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let notifies: AsyncStream<Void>
    private let notify: AsyncStream<Void>.Continuation
    /// True while another instance listens: only then is a `NOTIFY` worth its transaction. Starts true so that
    /// nothing is missed before the first look.
    private let othersListening = Atomic<Bool>(true)
    /// Set when the last look found rows behind a running transaction.
    private let pendingRows = Atomic<Bool>(false)

    /// - Parameter start: the position to deliver from, normally ``StreamRepository/currentPosition()``.
    public init(
        stream: any StreamRepository,
        start: StreamPosition,
        listener: PostgresListener?,
        notifier: PostgresNotifier?,
        sessions: SessionCache,
        configuration: AppConfiguration,
        logger: Logger
    ) {
        self.stream = stream
        self.registry = SubscriberRegistry(start: start, maxPerUser: configuration.maxStreamsPerUser, bufferLimit: configuration.streamBufferSize)
        self.listener = listener
        self.notifier = notifier
        self.sessions = sessions
        self.configuration = configuration
        self.logger = logger
        self.instanceID = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        (self.wakes, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (self.notifies, self.notify) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: ConversationEvents

    public func messageCreated(id: Int64, conversationID: Int64) { self.committed() }
    public func messagesRead(conversationID: Int64, userID: Int64) { self.committed() }
    public func membershipChanged(conversationID: Int64) { self.committed() }

    private func committed() {
        self.wake.yield()
        self.notify.yield()
    }

    /// Closes a session's streams here and, through `NOTIFY`, on every other instance.
    public func sessionEnded(_ sessionID: UUID) async {
        self.registry.close(session: sessionID)
        let id = sessionID.uuidString.lowercased()
        do {
            try await self.notifier?.notify(channel: Self.sessionsChannel, payload: id)
        } catch {
            self.logger.warning("could not announce a logout to other instances", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Service

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.dispatchLoop() }
            group.addTask { await self.notifyLoop() }
            group.addTask { await self.listenLoop() }
            group.addTask { await self.tickLoop() }
            group.addTask { await self.pendingWatchdog() }
            try? await gracefulShutdown()
            self.logger.info("closing realtime streams", metadata: ["streams": "\(self.registry.count)"])
            self.registry.shutdown()
            self.wake.finish()
            self.notify.finish()
            group.cancelAll()
        }
    }

    private func dispatchLoop() async {
        var position = self.registry.position
        var membership: [Int64: [Int64]] = [:]
        let batch = 1000
        for await _ in self.wakes {
            while !Task.isCancelled {
                do {
                    // Nobody to deliver to: read nothing. The first subscriber moves the start point forward
                    // (see `subscribe`), and we continue from there.
                    if self.registry.count == 0 { break }
                    position = max(position, self.registry.position)
                    let (events, pending) = try await self.stream.events(after: position, limit: batch)
                    for event in events {
                        if event.changesMembership { membership[event.conversationID] = nil }
                        var recipients: [Int64]
                        if let cached = membership[event.conversationID] {
                            recipients = cached
                        } else {
                            recipients = try await self.stream.participants(conversationID: event.conversationID)
                            if membership.count > 100_000 { membership.removeAll() }
                            membership[event.conversationID] = recipients
                        }
                        // Whoever left still hears that they left (their other tabs update).
                        if event.kind == .left { recipients.append(event.actorID) }
                        self.registry.deliver(event, to: recipients)
                        position = event.position
                    }
                    if events.count == batch { continue }
                    // Rows wait behind a transaction still running. If it is a message send, its own wake-up
                    // comes at commit; the watchdog covers writers that never wake us.
                    self.pendingRows.store(pending, ordering: .relaxed)
                    break
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("realtime dispatch failed, retrying", metadata: ["error": "\(String(reflecting: error))"])
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
    }

    private func notifyLoop() async {
        guard let notifier = self.notifier else { return }
        for await _ in self.notifies {
            guard self.othersListening.load(ordering: .relaxed) else { continue }
            do {
                try await notifier.notify(channel: Self.eventsChannel, payload: self.instanceID)
            } catch {
                self.logger.warning("NOTIFY failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    private func listenLoop() async {
        guard let listener = self.listener else { return }
        for await event in listener.events {
            switch event {
            case .listening(let isReconnect):
                // Notifications sent while we were away are lost: the tables are the truth, so just look.
                if isReconnect { self.wake.yield() }
            case .notification(let notification):
                if notification.channel == Self.eventsChannel {
                    if notification.payload != self.instanceID { self.wake.yield() }
                } else if notification.channel == Self.sessionsChannel, let id = UUID(uuidString: notification.payload) {
                    self.sessions.revoke(id)
                    self.registry.close(session: id)
                }
            }
        }
    }

    /// Looks again 5 ms after rows were found waiting behind a running transaction, in case that transaction is
    /// not one that wakes us at commit (a login, another application's writer).
    private func pendingWatchdog() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(5)) } catch { return }
            if self.pendingRows.exchange(false, ordering: .relaxed) { self.wake.yield() }
        }
    }

    /// Heartbeats, token expiry, a periodic look at the tables in case a wake-up was missed (also how a new
    /// instance hears others before they notice it), and every 2 s a check for other instances.
    private func tickLoop() async {
        var sinceHeartbeat = Duration.zero
        var sinceInstanceCheck = Duration.seconds(2)
        let tick = Duration.milliseconds(500)
        while !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { return }
            self.wake.yield()
            sinceInstanceCheck += tick
            if sinceInstanceCheck >= .seconds(2), let listener = self.listener {
                sinceInstanceCheck = .zero
                let pid = listener.backendPID
                let others = pid == 0 ? true : ((try? await self.stream.otherListeners(excluding: pid)) ?? true)
                self.othersListening.store(others, ordering: .relaxed)
            }
            sinceHeartbeat += tick
            if sinceHeartbeat >= self.configuration.heartbeatInterval {
                sinceHeartbeat = .zero
                let now = Date()
                for subscriber in self.registry.all {
                    if subscriber.expiresAt <= now {
                        subscriber.close(reason: .expired)
                    } else {
                        subscriber.send(SSEFrame.ping)
                    }
                }
            }
        }
    }

    // MARK: Subscribing

    /// What a new stream starts with.
    enum Start {
        /// Live from the latest delivered position.
        case live(Subscriber)
        /// Replay from the client's position, then live.
        case resume(Subscriber, from: StreamPosition)
        /// The client's position is unknown or too old: it must reload through the REST API.
        case reset(Subscriber)
    }

    func subscribe(identity: Identity, channel: any Channel, lastEventID: String?) async throws -> Start? {
        if self.registry.count == 0 {
            // The dispatcher reads nothing while nobody listens: bring the start point up to now first.
            _ = self.registry.advanceIfEmpty(to: try await self.stream.currentPosition())
        }
        guard let lastEventID, !lastEventID.isEmpty else {
            return self.registry.add(identity: identity, channel: channel, resumeFrom: nil).map(Start.live)
        }
        let window = Int64(self.configuration.resumeWindow.components.seconds)
        guard let position = StreamPosition(lastEventID), Int64(Date().timeIntervalSince1970) - position.time <= window else {
            return self.registry.add(identity: identity, channel: channel, resumeFrom: nil).map(Start.reset)
        }
        return self.registry.add(identity: identity, channel: channel, resumeFrom: position).map { .resume($0, from: position) }
    }

    /// Writes everything the subscriber missed after `position`, then switches it to live delivery.
    /// Returns false when there was too much to replay (the caller sends a reset instead).
    func replay(_ subscriber: Subscriber, from position: StreamPosition, write: (ByteBuffer) async throws -> Void) async throws -> Bool {
        var cursor = position
        var replayed = 0
        while true {
            let events = try await self.stream.events(forUser: subscriber.userID, after: cursor, limit: 500)
            for event in events {
                try await write(event.actorID == subscriber.userID ? event.actorFrame : event.othersFrame)
                cursor = event.position
            }
            subscriber.advance(to: cursor)
            replayed += events.count
            if events.count < 500 { break }
            if replayed >= self.configuration.maxReplayEvents { return false }
        }
        subscriber.finishReplay()
        return true
    }
}
