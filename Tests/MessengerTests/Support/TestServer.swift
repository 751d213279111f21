import AsyncHTTPClient
import Foundation
import Logging
import MessengerApp
import NIOCore
import PostgresLibPQ
import PostgresTestSupport
import ServiceLifecycle
import Synchronization

/// A real server on a free port over a fresh database, for tests that talk to it over sockets.
final class TestServer: Sendable {
    let port: Int
    let database: PostgresConfiguration
    let logs: LogCapture
    let configuration: AppConfiguration
    let realtime: RealtimeService
    /// The `/metrics` listener's port, when the configuration asked for one (`metricsPort = 0` picks a free one).
    let metricsPort: Int?
    /// Every route of the public router.
    let routes: [(method: String, path: String)]
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../schema").standardizedFileURL

    static func start(
        database: PostgresConfiguration? = nil,
        configure: (inout AppConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let resolved: PostgresConfiguration
        if let given = database {
            resolved = given
        } else {
            resolved = try await TestCluster.shared.freshDatabase()
        }
        let database = resolved
        var configuration = AppConfiguration()
        configuration.port = 0
        configuration.devLogin = true
        configuration.bcryptCost = 4
        configuration.jwtKey = Array("test-key-0123456789-0123456789-0123456789".utf8)
        configuration.databasePoolSize = 8
        configure(&configuration)
        let logs = LogCapture()
        let logger = logs.logger()
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let (metricsPortStream, metricsPortContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = try await MessengerServer.build(
            configuration: configuration,
            database: database,
            migrationsDirectory: Self.schema,
            logger: logger,
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            onMetricsServerRunning: { channel in
                metricsPortContinuation.yield(channel.localAddress?.port ?? 0)
                metricsPortContinuation.finish()
            }
        )
        let group = ServiceGroup(configuration: .init(services: server.services, logger: logger))
        let task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        var metricsPort: Int?
        if configuration.metricsPort != nil {
            var metricsIterator = metricsPortStream.makeAsyncIterator()
            metricsPort = await metricsIterator.next()
        }
        return TestServer(
            port: port,
            database: database,
            logs: logs,
            configuration: configuration,
            realtime: server.realtime,
            metricsPort: metricsPort,
            routes: server.routes,
            group: group,
            task: task
        )
    }

    private init(
        port: Int, database: PostgresConfiguration, logs: LogCapture, configuration: AppConfiguration, realtime: RealtimeService,
        metricsPort: Int?, routes: [(method: String, path: String)], group: ServiceGroup, task: Task<Void, any Error>
    ) {
        self.realtime = realtime
        self.metricsPort = metricsPort
        self.routes = routes
        self.port = port
        self.database = database
        self.logs = logs
        self.configuration = configuration
        self.group = group
        self.task = task
    }

    func stop() async {
        await self.group.triggerGracefulShutdown()
        _ = try? await self.task.value
    }
}
