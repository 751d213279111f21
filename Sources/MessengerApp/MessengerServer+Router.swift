import Hummingbird
import PostgresLibPQ

extension MessengerServer {
    /// The public router: middleware and every controller, over the repositories and services it is given. It
    /// starts nothing and opens no connection, so tests can drive it with HummingbirdTesting's `.router` mode; the
    /// services and the ``Application`` are built around it by ``build(configuration:database:migrationsDirectory:logger:metrics:onServerRunning:onMetricsServerRunning:)``.
    ///
    /// Controllers hold their repositories as existentials (`any ConversationRepository`) rather than being generic:
    /// each repository has one production implementation, a call costs one database round trip (the dynamic dispatch
    /// is noise next to it), and generic controllers would spread type parameters through every route registration.
    static func buildRouter(
        configuration: AppConfiguration,
        metrics: AppMetrics,
        pool: PostgresConnectionPool,
        users: any UserRepository,
        conversations: any ConversationRepository & MessageEditRepository & MembershipHistoryRepository,
        search: any SearchRepository,
        presence: any PresenceRepository,
        realtime: RealtimeService,
        authenticator: Authenticator
    ) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.addMiddleware {
            RequestLogMiddleware<AppRequestContext>()
            HTTPMetricsMiddleware<AppRequestContext>(metrics: metrics)
            SecurityHeadersMiddleware<AppRequestContext>()
            ErrorMiddleware<AppRequestContext>()
            BodyLimitMiddleware(limit: configuration.maxBodySize)
        }
        HealthController(pool: pool).routes(on: router)
        OpenAPIController().routes(on: router)
        let api = router.group("api").add(middleware: ContentTypeMiddleware<AppRequestContext>())
        let auth = AuthController(
            users: users,
            authenticator: authenticator,
            hasher: PasswordHasher(cost: configuration.bcryptCost),
            configuration: configuration,
            metrics: metrics,
            onLogout: { await realtime.sessionEnded($0) }
        )
        auth.publicRoutes(on: api)
        let guarded = api.group().add(middleware: AuthMiddleware(authenticator: authenticator))
        auth.protectedRoutes(on: guarded)
        ConversationController(conversations: conversations, users: users, events: realtime, configuration: configuration).routes(on: guarded)
        let messageController = MessageController(conversations: conversations, events: realtime, configuration: configuration)
        messageController.routes(on: guarded)
        MessageEditController(messages: conversations, events: realtime, configuration: configuration).routes(on: guarded)
        MembershipHistoryController(history: conversations).routes(on: guarded)
        SearchController(search: search).routes(on: guarded)
        StreamController(realtime: realtime, configuration: configuration).routes(on: guarded)
        let typingController = TypingController(presence: presence, realtime: realtime, configuration: configuration)
        typingController.routes(on: guarded)
        WebSocketController(realtime: realtime, messages: messageController, typing: typingController, configuration: configuration)
            .routes(on: guarded)
        WebAppController(webDirectory: configuration.webDirectory).routes(on: router)

        return router
    }
}
