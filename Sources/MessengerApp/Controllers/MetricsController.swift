import Hummingbird
import NIOCore
import PostgresLibPQ

/// `GET /metrics` in the Prometheus text format, on its own listener (``AppConfiguration/metricsPort``, loopback by
/// default) so that it is never reachable through the public port.
public struct MetricsController: Sendable {
    let metrics: AppMetrics
    let pool: PostgresConnectionPool
    let realtime: RealtimeService

    public init(metrics: AppMetrics, pool: PostgresConnectionPool, realtime: RealtimeService) {
        self.metrics = metrics
        self.pool = pool
        self.realtime = realtime
    }

    public func routes(on router: Router<AppRequestContext>) {
        router.get("metrics") { _, _ in
            let snapshot = AppMetrics.Snapshot(
                streamsOpen: self.realtime.openStreams,
                poolOpen: self.pool.openConnections,
                poolIdle: self.pool.idleConnections,
                poolWaiters: self.pool.waitingCount
            )
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.collect(snapshot)))
            )
        }
    }
}
