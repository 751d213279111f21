import Logging
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

    public func run() async throws {
        try? await gracefulShutdown()
        if self.ownsServer {
            try self.cluster.stop()
        }
    }
}
