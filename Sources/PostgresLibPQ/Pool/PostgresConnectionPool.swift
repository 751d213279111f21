import CoreMetrics
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A bounded pool of libpq connections.
///
/// Statements run through libpq's non-blocking API: the caller's task sends, one poller thread
/// (``PostgresSocketPoller``) waits in `epoll` for every connection's answer, and the task reads it. Opening and
/// closing connections (which block in libpq) run on a small thread pool. The event loops and the cooperative pool
/// never block in libpq. `messenger pool-overhead` measures the cost per statement against raw blocking libpq.
///
/// Connections are opened on demand up to ``maximumConnections``; a request that finds none free waits up to
/// ``acquireTimeout`` and then fails with ``PostgresError/Kind/poolTimeout``. Broken connections are dropped, and
/// after one is found broken every idle connection is probed, so a database restart costs at most the statements
/// that were in flight.
public final class PostgresConnectionPool: Service, Sendable {
    public let configuration: PostgresConfiguration
    public let maximumConnections: Int
    public let acquireTimeout: Duration
    /// Opens and closes connections (libpq's connect and `PQfinish` block).
    let threadPool: NIOThreadPool
    /// Reports when a connection's answer has arrived (see the type's comment).
    let poller: PostgresSocketPoller
    let logger: Logger
    /// How long callers waited for a connection (zero when one was idle).
    let acquireTimer: CoreMetrics.Timer
    private let state: Mutex<State>

    private struct Waiter {
        var id: Int
        /// When the caller stops waiting and gets ``PostgresError/Kind/poolTimeout``.
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<PostgresConnection?, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        var openCount = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var nextConnectionID = 0
        var isShutdown = false
        /// Fails waiters whose deadline has passed; runs only while someone waits (see ``watchDeadlines()``).
        var deadlineWatcher: Task<Void, Never>?
    }

    /// - Parameters:
    ///   - maximumConnections: the most connections open at once.
    ///   - acquireTimeout: how long a caller waits for a free connection.
    ///   - metricsFactory: where the acquire-time histogram (`messenger_db_pool_acquire_seconds`) goes.
    public init(
        configuration: PostgresConfiguration,
        maximumConnections: Int = 16,
        acquireTimeout: Duration = .seconds(10),
        logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.maximumConnections = max(1, maximumConnections)
        self.acquireTimeout = acquireTimeout
        self.logger = logger
        self.acquireTimer = CoreMetrics.Timer(label: "messenger_db_pool_acquire_seconds", factory: metricsFactory)
        precondition(PostgresConnection.isLibraryThreadSafe, "libpq must be built thread-safe (PQisthreadsafe() == 1)")
        // Connecting blocks for a round trip or three; a few threads let a burst of first requests connect at once.
        self.threadPool = NIOThreadPool(numberOfThreads: min(self.maximumConnections, 4))
        self.threadPool.start()
        self.poller = PostgresSocketPoller()
        self.state = Mutex(State())
    }

    /// Keeps the pool alive until graceful shutdown, then closes every connection.
    public func run() async throws {
        try? await gracefulShutdown()
        await self.shutdown()
    }

    /// Closes all connections and fails waiting callers. Idempotent.
    public func shutdown() async {
        let (idle, waiters, watcher) = self.state.withLock { state -> ([PostgresConnection], [Waiter], Task<Void, Never>?) in
            if state.isShutdown { return ([], [], nil) }
            state.isShutdown = true
            defer {
                state.idle.removeAll()
                state.waiters.removeAll()
                state.deadlineWatcher = nil
            }
            return (state.idle, state.waiters, state.deadlineWatcher)
        }
        watcher?.cancel()
        for waiter in waiters {
            waiter.continuation.resume(throwing: Self.shutdownError)
        }
        // PQfinish talks to the server (a Terminate message): a pool thread's job, not the cooperative pool's.
        _ = try? await self.threadPool.runIfActive { for connection in idle { connection.close() } }
        try? await self.threadPool.shutdownGracefully()
        await self.poller.stop()
    }

    /// What callers waiting for (or asking for) a connection get once the pool is shut down.
    static var shutdownError: PostgresError {
        PostgresError(kind: .shutdown, serverMessage: "the connection pool has been shut down: the server is stopping")
    }

    /// Lends a connection to `body`; run statements on it with ``query(_:on:)`` and ``unsafeExecute(_:on:)`` (the
    /// connection's own blocking methods would block the task's thread).
    public func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await self.acquire()
        do {
            let value = try await body(connection)
            self.release(connection)
            return value
        } catch {
            self.release(connection)
            throw error
        }
    }

    /// Runs one statement on any free connection.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        let connection = try await self.acquire()
        defer { self.release(connection) }
        return try await connection.query(query, poller: self.poller)
    }

    /// Runs `body` inside `BEGIN … COMMIT`; rolls back when it throws.
    public func withTransaction<T>(_ body: (PostgresTransaction) async throws -> T) async throws -> T {
        try await self.withConnection { connection in
            let transaction = PostgresTransaction(connection: connection, pool: self)
            try await connection.unsafeExecute("BEGIN", poller: self.poller)
            do {
                let value = try await body(transaction)
                try await connection.unsafeExecute("COMMIT", poller: self.poller)
                return value
            } catch {
                if !connection.isBroken {
                    _ = try? await connection.unsafeExecute("ROLLBACK", poller: self.poller)
                }
                throw error
            }
        }
    }

    // MARK: - Acquire and release

    private enum AcquireAction {
        case use(PostgresConnection)
        case open(id: Int)
        case wait
        case fail(PostgresError)
    }

    func acquire() async throws -> PostgresConnection {
        let start = ContinuousClock.now
        let connection = try await self.acquireConnection()
        let waited = ContinuousClock.now - start
        self.acquireTimer.recordNanoseconds(waited.components.seconds * 1_000_000_000 + waited.components.attoseconds / 1_000_000_000)
        return connection
    }

    private func acquireConnection() async throws -> PostgresConnection {
        while true {
            let action = self.state.withLock { state -> AcquireAction in
                if state.isShutdown { return .fail(Self.shutdownError) }
                if let connection = state.idle.popLast() { return .use(connection) }
                if state.openCount < self.maximumConnections {
                    state.openCount += 1
                    state.nextConnectionID += 1
                    return .open(id: state.nextConnectionID)
                }
                return .wait
            }
            switch action {
            case .use(let connection):
                if connection.probe() { return connection }
                self.logger.info("dropping a broken idle PostgreSQL connection", metadata: ["connection": "\(connection.id)"])
                self.discard(connection)
            case .open(let id):
                return try await self.open(id: id)
            case .fail(let error):
                throw error
            case .wait:
                if let connection = try await self.waitForConnection() {
                    if connection.probe() { return connection }
                    self.discard(connection)
                } else {
                    // A slot was freed for us: open a new connection in it.
                    let id = self.state.withLock { state in
                        state.nextConnectionID += 1
                        return state.nextConnectionID
                    }
                    return try await self.open(id: id)
                }
            }
        }
    }

    private func open(id: Int) async throws -> PostgresConnection {
        do {
            let configuration = self.configuration
            let logger = self.logger
            return try await self.threadPool.runIfActive {
                let connection = try PostgresConnection(configuration: configuration, id: id, logger: logger)
                try connection.enableNonBlockingSends()
                return connection
            }
        } catch {
            self.freeSlot()
            throw error
        }
    }

    private func waitForConnection() async throws -> PostgresConnection? {
        let id = self.state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let deadline = ContinuousClock.now + self.acquireTimeout
        // No timer per waiter: under load half the sends wait here, and a child task with its own `Task.sleep` cost
        // each of them a task, a libdispatch timer and two wake-ups. One watcher serves every waiter instead.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Re-check under the lock: a connection may have come back since `acquire` decided to wait.
                enum Outcome { case enqueued, shutdown, cancelled, connection(PostgresConnection), slot }
                let outcome = self.state.withLock { state -> Outcome in
                    if state.isShutdown { return .shutdown }
                    // Cancelled before we got here: the cancellation handler found nothing to remove, so
                    // enqueueing now would wait until the deadline with nobody to wake us sooner.
                    if Task.isCancelled { return .cancelled }
                    if let connection = state.idle.popLast() { return .connection(connection) }
                    if state.openCount < self.maximumConnections {
                        state.openCount += 1
                        return .slot
                    }
                    state.waiters.append(Waiter(id: id, deadline: deadline, continuation: continuation))
                    if state.deadlineWatcher == nil {
                        state.deadlineWatcher = Task { await self.watchDeadlines() }
                    }
                    return .enqueued
                }
                switch outcome {
                case .enqueued: break
                case .shutdown: continuation.resume(throwing: Self.shutdownError)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .connection(let connection): continuation.resume(returning: connection)
                case .slot: continuation.resume(returning: nil)
                }
            }
        } onCancel: {
            self.failWaiter(id: id, with: CancellationError())
        }
    }

    /// Fails each waiter at its deadline. Started by the first waiter of a busy spell and ends when nobody waits, so
    /// an idle pool has no timer; a busy one wakes it about once per ``acquireTimeout`` (waiters are served in order,
    /// so the first one's deadline is the earliest).
    private func watchDeadlines() async {
        while true {
            let now = ContinuousClock.now
            let (expired, next) = self.state.withLock { state -> ([Waiter], ContinuousClock.Instant?) in
                var expired: [Waiter] = []
                state.waiters.removeAll { waiter in
                    guard waiter.deadline <= now else { return false }
                    expired.append(waiter)
                    return true
                }
                let next = state.waiters.lazy.map(\.deadline).min()
                if next == nil { state.deadlineWatcher = nil }
                return (expired, next)
            }
            for waiter in expired {
                waiter.continuation.resume(
                    throwing: PostgresError(kind: .poolTimeout, serverMessage: "no connection free within \(self.acquireTimeout)"))
            }
            guard let next else { return }
            // Cancelled only by `shutdown`, which has already woken every waiter.
            do { try await Task.sleep(until: next, clock: .continuous) } catch { return }
        }
    }

    private func failWaiter(id: Int, with error: any Error) {
        let waiter = self.state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Returns a connection to the pool, or drops it when it is broken or left inside a transaction.
    func release(_ connection: PostgresConnection) {
        guard connection.isIdle else {
            self.discard(connection)
            return
        }
        let waiter = self.state.withLock { state -> Waiter? in
            if state.isShutdown {
                state.openCount -= 1
                return nil
            }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(connection)
            return nil
        }
        if let waiter {
            waiter.continuation.resume(returning: connection)
        } else if self.state.withLock({ $0.isShutdown }) {
            self.closeOffThread(connection)
        }
    }

    /// PQfinish sends a Terminate message and may block on a dead socket: run it on a pool thread (or inline once
    /// the thread pool is gone, when nothing else is waiting for the cooperative pool anyway).
    private func closeOffThread(_ connection: PostgresConnection) {
        self.threadPool.submit { _ in connection.close() }
    }

    private func discard(_ connection: PostgresConnection) {
        let wasBroken = connection.isBroken
        self.closeOffThread(connection)
        self.freeSlot()
        if wasBroken { self.probeIdleConnections() }
    }

    private func freeSlot() {
        let waiter = self.state.withLock { state -> Waiter? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.openCount -= 1
            return nil
        }
        // The slot passes to the waiter, who opens a new connection in it.
        waiter?.continuation.resume(returning: nil)
    }

    /// After one connection broke, the others probably did too (a server restart): check them all now.
    private func probeIdleConnections() {
        let idle = self.state.withLock { state in
            defer { state.idle.removeAll() }
            return state.idle
        }
        for connection in idle {
            if connection.probe() {
                self.release(connection)
            } else {
                self.closeOffThread(connection)
                self.freeSlot()
            }
        }
    }

    /// Callers waiting for a connection, for tests and metrics.
    public var waitingCount: Int { self.state.withLock { $0.waiters.count } }

    /// Idle connections, for metrics (in use = open − idle).
    public var idleConnections: Int { self.state.withLock { $0.idle.count } }

    /// Connections currently open (idle or lent out), for tests and metrics.
    public var openConnections: Int { self.state.withLock { $0.openCount } }
}
