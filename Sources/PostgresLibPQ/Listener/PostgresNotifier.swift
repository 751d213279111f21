import CoreMetrics
import Logging
import NIOPosix
import ServiceLifecycle

/// Sends `NOTIFY` on its own connection and thread, outside every data transaction.
///
/// The connection uses `synchronous_commit = off`: a notification is a wake-up, not data, so it need not wait for a
/// WAL flush (and does not compete with message inserts for one).
public final class PostgresNotifier: Service, @unchecked Sendable {
    // `connection` is only touched on `thread`'s single thread.
    private var connection: PostgresConnection?
    private let configuration: PostgresConfiguration
    private let thread: NIOThreadPool
    private let logger: Logger
    private let metricsFactory: any MetricsFactory

    /// - Parameter metricsFactory: where `messenger_notify_sent_total{channel}` (NOTIFYs sent) goes.
    public init(configuration: PostgresConfiguration, logger: Logger, metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.configuration = configuration
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.thread = NIOThreadPool(numberOfThreads: 1)
        self.thread.start()
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try? await self.thread.runIfActive { self.connection?.close() }
        try? await self.thread.shutdownGracefully()
    }

    /// `pg_notify(channel, payload)`; reconnects once if the connection was lost.
    public func notify(channel: String, payload: String) async throws {
        try await self.thread.runIfActive {
            for attempt in 0..<2 {
                do {
                    let connection = try self.liveConnection()
                    try connection.query("SELECT pg_notify(\(channel), \(payload))")
                    CoreMetrics.Counter(label: "messenger_notify_sent_total", dimensions: [("channel", channel)], factory: self.metricsFactory)
                        .increment()
                    return
                } catch {
                    self.connection?.close()
                    self.connection = nil
                    if attempt == 1 { throw error }
                }
            }
        }
    }

    private func liveConnection() throws -> PostgresConnection {
        if let connection, !connection.isBroken { return connection }
        let connection = try PostgresConnection(configuration: self.configuration, id: -2, logger: self.logger)
        try connection.unsafeExecute("SET synchronous_commit = off")
        self.connection = connection
        return connection
    }
}
