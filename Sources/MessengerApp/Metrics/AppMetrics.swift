import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The server's Prometheus metrics: swift-metrics handles backed by one swift-prometheus registry per server.
///
/// Every handle is made through this server's own ``factory`` rather than the process-wide `MetricsSystem`, so two
/// servers in one process (the tests run many) count separately. Gauges that mirror a state someone else owns (open
/// streams, pool connections) are not updated on the hot path: ``collect(_:)`` reads them when `/metrics` is
/// scraped. The series and what to alert on are described in the README ("Running in production").
public final class AppMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    /// Events handed to open streams, live fan-out and resume replay.
    let eventsDelivered: CoreMetrics.Counter
    let eventsReplayed: CoreMetrics.Counter
    /// Resumes with `Last-Event-ID` that replayed from the database, and those answered with `event: reset`.
    let resumeReplays: CoreMetrics.Counter
    let resumeResets: CoreMetrics.Counter
    /// Commit (the row's `created_at`) → handed to this process's streams.
    let deliveryLag: CoreMetrics.Timer
    let listenerReconnects: CoreMetrics.Counter
    let loginRateLimited: CoreMetrics.Counter
    /// Send statements (``SendBatcher``): one send in a slot, several in a slot, one send run again alone after its
    /// statement in a slot failed (mostly a row lock held longer than the lock timeout); and the sends batches carried.
    private let sendStatementsAlone: CoreMetrics.Counter
    private let sendStatementsBatch: CoreMetrics.Counter
    private let sendStatementsRetry: CoreMetrics.Counter
    private let sendsBatched: CoreMetrics.Counter
    /// SSE streams opened straight from the connection (``DirectStreamOpener``): in the event-loop turn their request
    /// arrived in, or in a short task; and through the router.
    let streamsOpenedImmediately: CoreMetrics.Counter
    let streamsOpenedDirect: CoreMetrics.Counter
    let streamsOpenedRouter: CoreMetrics.Counter
    /// The request series of a stream opened directly, made once (it is opened thousands of times a second at scale).
    private let directStreamRequests: CoreMetrics.Counter
    private let directStreamDuration: CoreMetrics.Timer
    private let streamsOpen: CoreMetrics.Meter
    private let poolInUse: CoreMetrics.Meter
    private let poolIdle: CoreMetrics.Meter
    private let poolWaiters: CoreMetrics.Meter
    /// Each request series' handles, made once: the factory's lookup (label hashing under the registry's lock) cost
    /// more than the increment itself on every request. Routes are the router's patterns and methods a fixed set
    /// (``seriesMethod(_:)``), so the dictionary stays small.
    private let requestSeries = Mutex<[RequestSeriesKey: RequestSeries]>([:])

    private struct RequestSeriesKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private struct RequestSeries: Sendable {
        let count: CoreMetrics.Counter
        let duration: CoreMetrics.Timer
    }

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        factory.durationHistogramBuckets = [
            Names.httpDuration: fast,
            Names.deliveryLag: fast,
            Names.poolAcquire: fast,
        ]
        self.registry = registry
        self.factory = factory
        self.eventsDelivered = CoreMetrics.Counter(label: Names.eventsDelivered, dimensions: [("path", "live")], factory: factory)
        self.eventsReplayed = CoreMetrics.Counter(label: Names.eventsDelivered, dimensions: [("path", "replay")], factory: factory)
        self.resumeReplays = CoreMetrics.Counter(label: Names.resumes, dimensions: [("outcome", "replay")], factory: factory)
        self.resumeResets = CoreMetrics.Counter(label: Names.resumes, dimensions: [("outcome", "reset")], factory: factory)
        self.deliveryLag = CoreMetrics.Timer(label: Names.deliveryLag, factory: factory)
        self.listenerReconnects = CoreMetrics.Counter(label: Names.listenerReconnects, factory: factory)
        self.loginRateLimited = CoreMetrics.Counter(label: Names.loginRateLimited, factory: factory)
        self.sendStatementsAlone = CoreMetrics.Counter(label: Names.sendStatements, dimensions: [("kind", "alone")], factory: factory)
        self.sendStatementsBatch = CoreMetrics.Counter(label: Names.sendStatements, dimensions: [("kind", "batch")], factory: factory)
        self.sendStatementsRetry = CoreMetrics.Counter(label: Names.sendStatements, dimensions: [("kind", "retry")], factory: factory)
        self.sendsBatched = CoreMetrics.Counter(label: Names.sendsBatched, factory: factory)
        self.streamsOpen = CoreMetrics.Meter(label: Names.streamsOpen, factory: factory)
        self.streamsOpenedImmediately = CoreMetrics.Counter(label: Names.streamsOpened, dimensions: [("path", "immediate")], factory: factory)
        self.streamsOpenedDirect = CoreMetrics.Counter(label: Names.streamsOpened, dimensions: [("path", "direct")], factory: factory)
        self.streamsOpenedRouter = CoreMetrics.Counter(label: Names.streamsOpened, dimensions: [("path", "router")], factory: factory)
        let route = [("route", DirectStreamOpener.route), ("method", "GET")]
        self.directStreamRequests = CoreMetrics.Counter(label: Names.httpRequests, dimensions: route + [("status", "200")], factory: factory)
        self.directStreamDuration = CoreMetrics.Timer(label: Names.httpDuration, dimensions: route, factory: factory)
        self.poolInUse = CoreMetrics.Meter(label: Names.poolConnections, dimensions: [("state", "in_use")], factory: factory)
        self.poolIdle = CoreMetrics.Meter(label: Names.poolConnections, dimensions: [("state", "idle")], factory: factory)
        self.poolWaiters = CoreMetrics.Meter(label: Names.poolWaiters, factory: factory)
        // Series that only appear on first use would make `rate()` and alerts blind until then: create them now.
        for reason in Subscriber.CloseReason.allCases { _ = self.streamClosedCounter(reason) }
        for reason in LoginFailure.allCases { _ = self.loginFailureCounter(reason) }
        for outcome in ["delivered", "retry", "rejected"] { self.pushAttempt(outcome: outcome, by: 0) }
    }

    /// The metric names, one place for the code, the tests and the README.
    public enum Names {
        public static let httpRequests = "messenger_http_requests_total"
        public static let httpDuration = "messenger_http_request_duration_seconds"
        public static let streamsOpen = "messenger_sse_streams_open"
        public static let streamsOpened = "messenger_sse_streams_opened_total"
        public static let eventsDelivered = "messenger_sse_events_delivered_total"
        public static let streamsClosed = "messenger_sse_streams_closed_total"
        public static let resumes = "messenger_sse_resumes_total"
        public static let deliveryLag = "messenger_delivery_lag_seconds"
        public static let poolConnections = "messenger_db_pool_connections"
        public static let poolWaiters = "messenger_db_pool_waiters"
        public static let poolAcquire = "messenger_db_pool_acquire_seconds"
        public static let listenerReconnects = "messenger_listener_reconnects_total"
        public static let notifies = "messenger_notify_sent_total"
        public static let loginFailures = "messenger_login_failures_total"
        public static let loginRateLimited = "messenger_login_rate_limited_total"
        public static let pushAttempts = "messenger_push_attempts_total"
        public static let sendStatements = "messenger_send_statements_total"
        public static let sendsBatched = "messenger_sends_batched_total"
    }

    /// Why a login or registration did not succeed (rate-limit refusals are counted separately).
    public enum LoginFailure: String, CaseIterable, Sendable {
        /// Wrong password, unknown user, or a password account entered through dev login.
        case badCredentials = "bad_credentials"
        /// Registration with a username that is taken.
        case usernameTaken = "username_taken"
    }

    /// One HTTP request: `route` is the router's pattern (`/api/conversations/{id}`), never the raw path, so the
    /// series stay few.
    func request(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestSeriesKey(route: route, method: Self.seriesMethod(method), status: status)
        let series = self.requestSeries.withLock { series in
            if let known = series[key] { return known }
            let made = RequestSeries(
                count: CoreMetrics.Counter(
                    label: Names.httpRequests,
                    dimensions: [("route", key.route), ("method", key.method), ("status", String(key.status))],
                    factory: self.factory),
                duration: CoreMetrics.Timer(
                    label: Names.httpDuration, dimensions: [("route", key.route), ("method", key.method)], factory: self.factory))
            series[key] = made
            return made
        }
        series.count.increment()
        series.duration.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// The `method` label: the methods HTTP defines keep their name, anything else a client makes up is `OTHER`
    /// (a scanner sending random methods must not create series without bound).
    static func seriesMethod(_ method: String) -> String {
        switch method {
        case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE": method
        default: "OTHER"
        }
    }

    /// One webhook delivery attempt: `delivered` (2xx), `retry` (timeout, connection error, 5xx, 429: tried again
    /// later, dead once retried for too long) or `rejected` (another 4xx: never retried).
    func pushAttempt(outcome: String, by count: Int = 1) {
        CoreMetrics.Counter(label: Names.pushAttempts, dimensions: [("outcome", outcome)], factory: self.factory).increment(by: count)
    }

    /// A send statement about to run: `sends` messages, in one of the batcher's slots or (after a failed one) alone.
    func sendStatement(sends: Int, inSlot: Bool) {
        guard inSlot else { return self.sendStatementsRetry.increment() }
        if sends == 1 { return self.sendStatementsAlone.increment() }
        self.sendStatementsBatch.increment()
        self.sendsBatched.increment(by: sends)
    }

    /// A stream opened by ``DirectStreamOpener``: the request as ``request(route:method:status:duration:)`` counts it.
    func streamOpenedDirectly(duration: Duration, immediately: Bool) {
        self.directStreamRequests.increment()
        self.directStreamDuration.recordNanoseconds(Self.nanoseconds(duration))
        (immediately ? self.streamsOpenedImmediately : self.streamsOpenedDirect).increment()
    }

    func streamClosed(_ reason: Subscriber.CloseReason) {
        self.streamClosedCounter(reason).increment()
    }

    private func streamClosedCounter(_ reason: Subscriber.CloseReason) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: Names.streamsClosed, dimensions: [("reason", reason.rawValue)], factory: self.factory)
    }

    func loginFailed(_ reason: LoginFailure) {
        self.loginFailureCounter(reason).increment()
    }

    private func loginFailureCounter(_ reason: LoginFailure) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: Names.loginFailures, dimensions: [("reason", reason.rawValue)], factory: self.factory)
    }

    /// The time from a commit to now, given the row's `created_at` (the database's clock: a negative difference from
    /// clock skew counts as zero).
    func recordDeliveryLag(since committed: Date) {
        self.deliveryLag.recordNanoseconds(Int64(max(0, Date().timeIntervalSince(committed)) * 1_000_000_000))
    }

    /// Live values read when `/metrics` is scraped.
    public struct Snapshot: Sendable {
        public var streamsOpen: Int
        public var poolOpen: Int
        public var poolIdle: Int
        public var poolWaiters: Int
    }

    /// Sets the gauges from live values, then renders the Prometheus text format.
    public func collect(_ snapshot: Snapshot) -> [UInt8] {
        self.streamsOpen.set(snapshot.streamsOpen)
        self.poolInUse.set(max(0, snapshot.poolOpen - snapshot.poolIdle))
        self.poolIdle.set(snapshot.poolIdle)
        self.poolWaiters.set(snapshot.poolWaiters)
        return self.registry.emitToBuffer()
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
