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
    public static let listenerApplicationName = PostgresStreamRepository.listenerApplicationName

    let stream: any StreamRepository
    let users: any UserRepository
    let codec: StreamPositionCodec
    let registry: SubscriberRegistry
    /// Presence, nil when it is turned off.
    let presence: PresenceTracker?
    let typing: TypingRelay
    let listener: PostgresListener?
    let notifier: PostgresNotifier?
    let sessions: SessionCache
    let configuration: AppConfiguration
    let logger: Logger
    let metrics: AppMetrics
    let instanceID: String
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let notifies: AsyncStream<Void>
    private let notify: AsyncStream<Void>.Continuation
    /// Arms the pending watchdog.
    private let pendingSignals: AsyncStream<Void>
    private let pendingSignal: AsyncStream<Void>.Continuation
    /// True while another instance listens: only then is a `NOTIFY` worth its transaction. Starts true so that
    /// nothing is missed before the first look.
    private let othersListening = Atomic<Bool>(true)
    /// Set when the last look found rows of ours behind a running transaction of ours.
    private let pendingRows = Atomic<Bool>(false)

    /// - Parameter start: the position to deliver from, normally ``StreamRepository/currentPosition()``.
    public init(
        stream: any StreamRepository,
        users: any UserRepository,
        presence presenceRepository: any PresenceRepository,
        codec: StreamPositionCodec,
        start: StreamPosition,
        listener: PostgresListener?,
        notifier: PostgresNotifier?,
        sessions: SessionCache,
        configuration: AppConfiguration,
        logger: Logger,
        metrics: AppMetrics = AppMetrics()
    ) {
        self.stream = stream
        self.users = users
        self.codec = codec
        self.registry = SubscriberRegistry(
            start: start,
            maxPerUser: configuration.maxStreamsPerUser,
            bufferLimit: configuration.streamBufferSize,
            codec: codec,
            metrics: metrics
        )
        self.listener = listener
        self.notifier = notifier
        self.sessions = sessions
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.instanceID = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        self.presence =
            configuration.presenceEnabled
            ? PresenceTracker(
                repository: presenceRepository,
                notifier: notifier,
                registry: self.registry,
                instanceID: self.instanceID,
                configuration: configuration,
                logger: logger
            ) : nil
        self.typing = TypingRelay(
            stream: stream,
            notifier: notifier,
            registry: self.registry,
            instanceID: self.instanceID,
            configuration: configuration,
            logger: logger
        )
        (self.wakes, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (self.notifies, self.notify) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (self.pendingSignals, self.pendingSignal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: ConversationEvents

    public func messageCreated() { self.committed() }
    public func messagesRead() { self.committed() }
    public func membershipChanged() { self.committed() }
    public func messageChanged() { self.committed() }

    /// Wakes only the loops that have work: each wake-up resumes a task on another thread, and on a sequential
    /// sender's path that is a context switch per send (the woken loop preempts the request on a two-core machine).
    /// The loops make the same checks when they wake (a wake-up already queued still finds them true or not), so
    /// this changes nothing else: with nobody subscribed the dispatcher reads nothing (the first subscriber brings
    /// the start point up to date, and wakes it, see `subscribe`); alone, an instance sends no `NOTIFY`.
    private func committed() {
        if self.registry.count > 0 { self.wake.yield() }
        if self.othersListening.load(ordering: .relaxed) { self.notify.yield() }
    }

    /// Closes a session's streams here and, through `NOTIFY`, on every other instance.
    public func sessionEnded(_ sessionID: UUID) async {
        // Revoked in the cache first: a stream registering concurrently checks it after registering (see
        // `subscribe`), so it either is closed here or refuses itself.
        self.sessions.revoke(sessionID)
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
            group.addTask { await self.typing.worker() }
            if let presence = self.presence {
                group.addTask { await presence.run() }
                group.addTask { await presence.worker() }
            }
            try? await gracefulShutdown()
            // Before the streams close (and while the pool and notifier still run): this instance's users go
            // offline now where they are not online elsewhere.
            await self.presence?.shutdown()
            self.presence?.finish()
            self.typing.finish()
            self.logger.info("closing realtime streams", metadata: ["streams": "\(self.registry.count)"])
            self.registry.shutdown()
            await self.awaitWebSocketGoodbyes()
            self.wake.finish()
            self.notify.finish()
            self.pendingSignal.finish()
            group.cancelAll()
        }
    }

    /// Gives the WebSocket streams, whose close a task writes, up to a second to say why they end (1001, going away)
    /// and leave the registry: the HTTP server shuts down after this service, and its own close of a socket whose task
    /// had not run yet would say 1000. Direct streams were ended by ``SubscriberRegistry/shutdown()`` itself.
    private func awaitWebSocketGoodbyes() async {
        let deadline = ContinuousClock.now + .seconds(1)
        while self.registry.queuedCount > 0, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(2)) } catch { return }
        }
    }

    private func dispatchLoop() async {
        var position = self.registry.position
        var membership: [Int64: [Int64]] = [:]
        var held = HeldBack()
        let batchSize = 1000
        for await _ in self.wakes {
            while !Task.isCancelled {
                do {
                    // Nobody to deliver to: read nothing. The first subscriber moves the start point forward
                    // (see `subscribe`), and we continue from there.
                    if self.registry.count == 0 { break }
                    position = max(position, self.registry.position)
                    let batch = try await self.stream.events(after: position, limit: batchSize)
                    for record in batch.records {
                        let event = StreamEvent(record, codec: self.codec)
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
                        self.metrics.recordDeliveryLag(since: record.createdAt)
                    }
                    for skipped in batch.skipped {
                        self.logger.error("skipping a stream event that cannot be decoded", metadata: ["event": "\(skipped)"])
                    }
                    if let last = batch.last {
                        position = last
                        self.registry.advance(to: last)
                    }
                    if batch.rowCount == batchSize { continue }
                    // Rows of ours wait behind a transaction of ours still running. A message send wakes us at commit;
                    // the watchdog covers writers that never do.
                    self.pendingRows.store(batch.pending, ordering: .relaxed)
                    if batch.pending { self.pendingSignal.yield() }
                    await self.noteHeldBack(batch, state: &held)
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

    /// How long delivery has been held back at one horizon.
    struct HeldBack {
        var horizon: UInt64 = 0
        var since: ContinuousClock.Instant?
        var logged = false
    }

    /// Logs once when one of our own transactions has held delivery back for more than a second: that is a bug or
    /// an operator's long job (a migration), and silence would make it look like lost messages.
    private func noteHeldBack(_ batch: StreamBatch, state: inout HeldBack) async {
        guard batch.pending else {
            state.since = nil
            return
        }
        let now = ContinuousClock.now
        guard let since = state.since, state.horizon == batch.horizon else {
            state = HeldBack(horizon: batch.horizon, since: now, logged: false)
            return
        }
        guard !state.logged, now - since > .seconds(1) else { return }
        state.logged = true
        let holder = (try? await self.stream.describeHolder(ofHorizon: batch.horizon)) ?? nil
        self.logger.warning(
            "stream delivery held back by a transaction of this application",
            metadata: ["held": "\(now - since)", "holder": "\(holder ?? "ended")"]
        )
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
                // Say hello: instances that were alone until now stop skipping their NOTIFYs at once, instead of at
                // their next look at pg_stat_activity (up to 2 s of deliveries waiting for the safety look).
                await self.announce()
                // Notifications sent while we were away are lost: the tables are the truth, so just look; and a
                // logout announced meanwhile is found by re-checking the open streams' sessions now.
                if isReconnect {
                    self.metrics.listenerReconnects.increment()
                    self.wake.yield()
                    await self.recheckSessions()
                }
            case .notification(let notification):
                if notification.channel == Self.eventsChannel {
                    if notification.payload != self.instanceID {
                        // Another instance is there (it notified us), so our commits must notify it.
                        self.othersListening.store(true, ordering: .relaxed)
                        self.wake.yield()
                    }
                } else if notification.channel == PresenceTracker.channel {
                    self.presence?.received(notification.payload)
                } else if notification.channel == TypingRelay.channel {
                    self.typing.received(notification.payload)
                } else if notification.channel == Self.sessionsChannel, let id = UUID(uuidString: notification.payload) {
                    self.sessions.revoke(id)
                    self.registry.close(session: id)
                }
            }
        }
    }

    /// Tells other instances this one listens (a NOTIFY on the events channel with our id).
    private func announce() async {
        do {
            try await self.notifier?.notify(channel: Self.eventsChannel, payload: self.instanceID)
        } catch {
            self.logger.warning("could not announce this instance", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// Looks again soon after rows were found waiting behind a running transaction of ours, in case it is not one
    /// that wakes us at commit (a login, a migration): 5 ms at first, backing off to 200 ms while it stays open, so
    /// a long transaction costs a few looks a second, not a polling storm. Idle, it sleeps until armed.
    private func pendingWatchdog() async {
        var delay = Duration.milliseconds(5)
        var last = ContinuousClock.now
        // Each look that finds rows waiting arms it once more; a look that finds none leaves it asleep.
        for await _ in self.pendingSignals {
            // A new episode starts from 5 ms; one that goes on keeps backing off.
            if ContinuousClock.now - last > delay + .milliseconds(250) { delay = .milliseconds(5) }
            do { try await Task.sleep(for: delay) } catch { return }
            last = ContinuousClock.now
            if self.pendingRows.exchange(false, ordering: .relaxed) {
                self.wake.yield()
                delay = min(delay * 2, .milliseconds(200))
            } else {
                delay = .milliseconds(5)
            }
        }
    }

    /// Heartbeats, token expiry and session re-checks; a periodic look at the tables in case a wake-up was missed
    /// (also how a new instance hears others before they notice it); every 2 s a check for other instances.
    private func tickLoop() async {
        var sinceHeartbeat = Duration.zero
        var sinceInstanceCheck = Duration.seconds(2)
        var sinceSafetyLook = Duration.zero
        let tick = Duration.milliseconds(250)
        while !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { return }
            sinceSafetyLook += tick
            if sinceSafetyLook >= self.configuration.safetyLookInterval {
                sinceSafetyLook = .zero
                self.wake.yield()
            }
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
                var batch = SocketBatch()
                for subscriber in self.registry.all {
                    if subscriber.expiresAt <= now {
                        subscriber.close(reason: .expired)
                    } else {
                        subscriber.send(SSEFrame.ping, into: &batch)
                    }
                }
                batch.send()
                await self.recheckSessions()
            }
        }
    }

    /// Closes the streams of sessions that ended, in one query: a logout whose `NOTIFY` was missed (this instance's
    /// listener was reconnecting) still ends its streams by the next heartbeat.
    private func recheckSessions() async {
        let open = self.registry.sessionIDs
        guard !open.isEmpty else { return }
        do {
            let valid = try await self.users.validSessions(among: Array(open))
            let ended = open.subtracting(valid)
            guard !ended.isEmpty else { return }
            for id in ended { self.sessions.revoke(id) }
            self.registry.close(sessions: ended)
        } catch {
            self.logger.warning("could not re-check stream sessions", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    // MARK: Subscribing

    /// What a new stream starts with.
    enum Start {
        /// Live from the latest delivered position (the opening position is already queued).
        case live(Subscriber)
        /// Replay from the client's position, then live.
        case resume(Subscriber, from: StreamPosition)

        /// The registered stream, however it starts.
        var subscriber: Subscriber {
            switch self {
            case .live(let subscriber), .resume(let subscriber, _): subscriber
            }
        }
    }

    /// Whether new streams are accepted (false once shutting down).
    var isAccepting: Bool { !self.registry.isShutdown }

    /// Registers a stream for `identity`. A `lastEventID` that does not verify, is older than the resume window, lies
    /// beyond this database's head or is too far behind to replay cheaply opens with `event: reset` instead.
    /// - Parameter socket: the connection's handler when the stream's frames are to be written directly (SSE).
    func subscribe(identity: Identity, channel: any Channel, socket: StreamSocketHandler? = nil, lastEventID: String?) async throws -> Start? {
        var first = false
        if self.registry.count == 0 {
            // The dispatcher reads nothing while nobody listens: bring the start point up to now first…
            first = self.registry.advanceIfEmpty(to: try await self.stream.currentPosition())
        }
        // …and have it look once this stream is registered: a commit after that read, whose wake-up found nobody
        // subscribed (see `committed`), is delivered now, not at the next safety look.
        defer { if first { self.wake.yield() } }
        var mode = SubscriberRegistry.Mode.live
        if let lastEventID, !lastEventID.isEmpty {
            mode = .reset
            let window = Int64(self.configuration.resumeWindow.components.seconds)
            if let position = self.codec.decode(lastEventID), Int64(Date().timeIntervalSince1970) - position.time <= window,
                let behind = try await self.stream.eventsWritten(after: position), behind <= self.configuration.maxReplayScan
            {
                mode = .resume(position)
            }
        }
        return self.register(identity: identity, channel: channel, socket: socket, mode: mode)
    }

    /// Registers a live stream when that needs no database (someone is subscribed already, so the registry's
    /// position is current); nil when it does, or the stream is refused: then ask
    /// ``subscribe(identity:channel:socket:lastEventID:)``. Never waits (an event loop may call it).
    func subscribeLiveNow(identity: Identity, channel: any Channel, socket: StreamSocketHandler) -> Subscriber? {
        guard self.registry.count > 0, case .live(let subscriber)? = self.register(identity: identity, channel: channel, socket: socket, mode: .live)
        else { return nil }
        return subscriber
    }

    private func register(identity: Identity, channel: any Channel, socket: StreamSocketHandler?, mode: SubscriberRegistry.Mode) -> Start? {
        guard let subscriber = self.registry.add(identity: identity, channel: channel, socket: socket, mode: mode) else { return nil }
        // A logout that raced with this request: it revoked the session before closing streams, so either it saw
        // this stream, or this check sees the revocation.
        if self.sessions.isRevoked(identity.sessionID) {
            subscriber.close(reason: .loggedOut)
            self.registry.remove(subscriber)
            _ = subscriber.releasePresence()
            return nil
        }
        self.presence?.streamOpened(userID: identity.userID)
        if case .resume(let position) = mode {
            self.metrics.resumeReplays.increment()
            return .resume(subscriber, from: position)
        }
        if mode.isReset { self.metrics.resumeResets.increment() }
        return .live(subscriber)
    }

    /// Takes an ended stream out of the registry and out of its user's presence.
    func unsubscribe(_ subscriber: Subscriber) {
        self.registry.remove(subscriber)
        if subscriber.releasePresence() { self.presence?.streamClosed(userID: subscriber.userID) }
    }

    /// The presence of the user's contacts, sent first on a new stream; nil with presence off, no contacts or a failed
    /// read. Ask once the stream is registered (the answer is at least as new as the registration).
    func presenceSnapshot(for userID: Int64) async -> ByteBuffer? {
        guard let presence = self.presence else { return nil }
        return await presence.snapshot(for: userID)
    }

    /// ``presenceSnapshot(for:)`` without waiting: `deliver` is called with it later, from another thread. Returns at
    /// once (an event loop may ask).
    func requestPresenceSnapshot(for userID: Int64, deliver: @escaping @Sendable (ByteBuffer?) -> Void) {
        guard let presence = self.presence else {
            // Still from another thread, as promised (the caller may do work there that no event loop should).
            Task { deliver(nil) }
            return
        }
        presence.request(snapshotFor: userID, deliver: deliver)
    }

    /// A participant started or stopped typing (the caller checked they take part).
    public func typing(userID: Int64, username: String, conversationID: Int64, isTyping: Bool) async {
        await self.typing.typing(userID: userID, username: username, conversationID: conversationID, isTyping: isTyping)
    }

    /// Writes everything the subscriber missed after `position`, then switches it to live delivery.
    /// Returns false when there was too much to replay (the caller sends a reset instead).
    func replay(_ subscriber: Subscriber, from position: StreamPosition, write: (ByteBuffer) async throws -> Void) async throws -> Bool {
        var cursor = position
        var replayed = 0
        let page = 500
        while true {
            let batch = try await self.stream.events(forUser: subscriber.userID, after: cursor, limit: page)
            for record in batch.records {
                let event = StreamEvent(record, codec: self.codec)
                try await write(event.actorID == subscriber.userID ? event.actorFrame : event.othersFrame)
            }
            self.metrics.eventsReplayed.increment(by: batch.records.count)
            if let last = batch.last { cursor = last }
            subscriber.advance(to: cursor)
            replayed += batch.rowCount
            if batch.rowCount < page { break }
            if replayed >= self.configuration.maxReplayEvents { return false }
        }
        subscriber.finishReplay()
        return true
    }

    /// The listener connection's backend pid, 0 while it is not connected.
    public var listenerBackendPID: Int32 { self.listener?.backendPID ?? 0 }

    /// The SSE id of the latest delivered position (where a client told to reset continues from).
    var currentEventID: String { self.codec.encode(self.registry.position) }

    /// How many streams (SSE and WebSocket) are open.
    public var openStreams: Int { self.registry.count }

    /// Ends a resumed stream whose gap was too long to replay: counts the reset, takes the subscriber out, and
    /// returns the `reset` frame that tells the client where to continue from.
    func endWithReset(_ subscriber: Subscriber) -> ByteBuffer {
        self.metrics.resumeResets.increment()
        subscriber.close(reason: .shutdown)
        self.unsubscribe(subscriber)
        return SSEFrame.reset(at: self.currentEventID)
    }
}
