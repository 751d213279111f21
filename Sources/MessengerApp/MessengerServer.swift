import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import PostgresLibPQ
import ServiceLifecycle

/// Assembles the application: database pool, listener and notifier, realtime delivery and the HTTP server, as
/// services in start order (graceful shutdown runs in reverse: streams close first, the pool last).
public struct MessengerServer {
    public let services: [any Service]
    public let pool: PostgresConnectionPool
    public let realtime: RealtimeService
    public let metrics: AppMetrics
    /// Every route of the public router (method and pattern), for the test that checks each one is documented.
    public let routes: [(method: String, path: String)]

    /// Migrates the database, then builds every service.
    public static func build(
        configuration: AppConfiguration,
        database: PostgresConfiguration,
        migrationsDirectory: URL,
        logger: Logger,
        metrics: AppMetrics = AppMetrics(),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in },
        onMetricsServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) async throws -> MessengerServer {
        // The stream's horizon looks only at connections with this name (schema/0005): set last, so it wins over an
        // application_name in DATABASE_URL.
        var poolDatabase = database
        poolDatabase.parameters.append(("application_name", PostgresStreamRepository.writerApplicationName))
        let pool = PostgresConnectionPool(
            configuration: poolDatabase,
            maximumConnections: configuration.databasePoolSize,
            logger: logger,
            metricsFactory: metrics.factory
        )
        do {
            try await PostgresMigrator(directory: migrationsDirectory, logger: logger).migrate(pool: pool)
            return try await Self.build(
                configuration: configuration,
                database: database,
                pool: pool,
                logger: logger,
                metrics: metrics,
                onServerRunning: onServerRunning,
                onMetricsServerRunning: onMetricsServerRunning
            )
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    static func build(
        configuration: AppConfiguration,
        database: PostgresConfiguration,
        pool: PostgresConnectionPool,
        logger: Logger,
        metrics: AppMetrics,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void,
        onMetricsServerRunning: @escaping @Sendable (any Channel) async -> Void
    ) async throws -> MessengerServer {
        let users = PostgresUserRepository(pool: pool)
        let conversations = PostgresConversationRepository(
            pool: pool,
            maxGroupSize: configuration.maxGroupSize,
            presenceDeadAfter: configuration.presenceEnabled ? configuration.presenceHeartbeat * 4 : nil,
            pushCoalesceWindow: configuration.pushWebhookURL == nil ? nil : configuration.pushCoalesceWindow,
            metrics: metrics
        )
        let streamRepository = PostgresStreamRepository(pool: pool)
        let presenceRepository = PostgresPresenceRepository(pool: pool)
        let sessionCache = SessionCache(ttl: configuration.sessionCacheTTL)
        var listenerDatabase = database
        listenerDatabase.parameters.append(("application_name", RealtimeService.listenerApplicationName))
        let listener = PostgresListener(
            configuration: listenerDatabase,
            channels: [RealtimeService.eventsChannel, RealtimeService.sessionsChannel, PresenceTracker.channel, TypingRelay.channel],
            logger: logger
        )
        var notifierDatabase = database
        notifierDatabase.parameters.append(("application_name", "messenger-notifier"))
        let notifier = PostgresNotifier(configuration: notifierDatabase, logger: logger, metricsFactory: metrics.factory)
        let codec = StreamPositionCodec(serverKey: configuration.jwtKey, databaseToken: try await streamRepository.identityToken())
        let realtime = RealtimeService(
            stream: streamRepository,
            users: users,
            presence: presenceRepository,
            codec: codec,
            start: try await streamRepository.currentPosition(),
            listener: listener,
            notifier: notifier,
            sessions: sessionCache,
            configuration: configuration,
            logger: logger,
            metrics: metrics
        )
        let tokens = await TokenService(key: configuration.jwtKey, lifetime: configuration.tokenLifetime)
        let authenticator = Authenticator(tokens: tokens, users: users, sessions: sessionCache)
        let router = Self.buildRouter(
            configuration: configuration,
            metrics: metrics,
            pool: pool,
            users: users,
            conversations: conversations,
            search: PostgresSearchRepository(pool: pool),
            presence: presenceRepository,
            realtime: realtime,
            authenticator: authenticator
        )
        let streams = DirectStreamOpener(
            realtime: realtime, authenticator: authenticator, configuration: configuration, metrics: metrics, logger: logger)

        // The same router answers WebSocket upgrades: `GET /api/ws` runs through the same middleware and guard.
        let webSocket = WebSocketServerConfiguration(
            maxFrameSize: configuration.maxWebSocketFrame,
            autoPing: .enabled(timePeriod: configuration.heartbeatInterval)
        )
        let webSocketResponder = router.buildResponder()
        let load = RequestLoad()
        let app = Application(
            responder: CountingResponder(inner: ShallowStreamResponder(inner: router.buildResponder()), load: load),
            server: HTTPServerBuilder { responder in
                UpgradeSafeHTTPChannel(
                    inner: HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: webSocketResponder, configuration: .init(ws: webSocket)),
                    streams: configuration.directStreams ? streams : nil,
                    load: configuration.quietRequestsOnEventLoop ? load : nil
                )
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                logger.info("messenger listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                await onServerRunning(channel)
            },
            logger: logger
        )
        var services: [any Service] = [pool, notifier, listener, app]
        if let metricsPort = configuration.metricsPort {
            let metricsRouter = Router(context: AppRequestContext.self)
            metricsRouter.addMiddleware { ErrorMiddleware<AppRequestContext>() }
            MetricsController(metrics: metrics, pool: pool, realtime: realtime).routes(on: metricsRouter)
            services.append(
                Application(
                    router: metricsRouter,
                    configuration: .init(address: .hostname(configuration.metricsHost, port: metricsPort), serverName: nil),
                    onServerRunning: { channel in
                        logger.info("metrics listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                        await onMetricsServerRunning(channel)
                    },
                    logger: logger
                )
            )
        }
        if configuration.pushWebhookURL != nil {
            let outbox = PostgresPushOutboxRepository(pool: pool, presenceDeadAfter: configuration.presenceHeartbeat * 4)
            services.append(PushWorker(outbox: outbox, configuration: configuration, logger: logger, metrics: metrics))
        }
        services.append(realtime)
        return MessengerServer(
            services: services,
            pool: pool,
            realtime: realtime,
            metrics: metrics,
            routes: router.routes.map { (method: $0.method.rawValue, path: $0.path.description) }
        )
    }
}
