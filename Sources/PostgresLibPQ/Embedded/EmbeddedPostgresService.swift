import Logging
import NIOPosix
import ServiceLifecycle

/// Keeps an ``EmbeddedPostgres`` cluster running for the life of the service group and stops it on shutdown
/// (when this process started it). List it first: graceful shutdown runs in reverse order, so it stops last.
public struct EmbeddedPostgresService: Service {
    public let cluster: EmbeddedPostgres
    public let ownsServer: Bool

    public init(cluster: EmbeddedPostgres, ownsServer: Bool) {
        self.cluster = cluster
        self.ownsServer = ownsServer
    }

    /// Returns on graceful shutdown and on cancellation alike (a failed start cancels the group): either way the
    /// cluster we started is stopped.
    public func run() async throws {
        try? await gracefulShutdown()
        await self.stopIfOwned()
    }

    /// Stops the cluster if this process started it. `pg_ctl stop` blocks for up to seconds, so it runs on a
    /// thread-pool thread, never on the cooperative pool.
    public func stopIfOwned() async {
        guard self.ownsServer else { return }
        let cluster = self.cluster
        _ = try? await NIOThreadPool.singleton.runIfActive { try cluster.stop() }
    }
}
