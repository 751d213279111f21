import ArgumentParser
import Foundation
import Logging
import MessengerApp
import PostgresLibPQ
import ServiceLifecycle

/// `messenger serve`: run the HTTP server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server.",
        discussion: """
            Without DATABASE_URL the server runs its own PostgreSQL cluster in --data-dir (created on first run, \
            stopped with the server) and dev login is on. With DATABASE_URL dev login is off unless --dev-login is given.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (env PORT, default 3000).")
    var port: Int?

    @Flag(
        inversion: .prefixedNo,
        help:
            "Dev login: POST /api/login with only a username signs in, creating the user. Default: on with the embedded database, off with DATABASE_URL."
    )
    var devLogin: Bool?

    @Option(help: "Folder of the web app (default: ./web, or next to the executable's package).")
    var webDir: String?

    @Option(help: "Token lifetime in hours.")
    var tokenLifetimeHours: Int = 14 * 24

    @Option(help: "bcrypt cost factor.")
    var bcryptCost: Int = 12

    @Option(help: "Largest message after normalisation, in characters.")
    var maxMessageLength: Int = 480

    @Option(help: "Largest group, in members.")
    var maxGroupSize: Int = 1000

    @Option(help: "Seconds between SSE heartbeat comments.")
    var heartbeatSeconds: Int = 15

    @Option(help: "Most concurrent streams per user; the oldest closes beyond it.")
    var maxStreamsPerUser: Int = 10

    @Option(help: "Hours a Last-Event-ID stays resumable; older ones get an `event: reset`.")
    var resumeWindowHours: Int = 24

    @Option(help: "PostgreSQL connections in the pool.")
    var poolSize: Int = 16

    @Option(help: "Login attempts allowed per username each minute (three times as many per client address).")
    var loginAttemptsPerMinute: Int = 10

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"

    func run() async throws {
        var logger = Logger(label: "messenger")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info

        var services: [any Service] = []
        let databaseConfiguration: PostgresConfiguration
        let embedded = self.database.resolvedDatabaseURL == nil
        if let url = self.database.resolvedDatabaseURL {
            databaseConfiguration = PostgresConfiguration(url: url)
        } else {
            let cluster = EmbeddedPostgres(dataDirectory: self.database.dataDirectory, logger: logger)
            let started = try cluster.start()
            services.append(EmbeddedPostgresService(cluster: cluster, ownsServer: started))
            databaseConfiguration = cluster.configuration
        }
        logger.info("database", metadata: ["connection": "\(databaseConfiguration)"])

        var configuration = AppConfiguration()
        configuration.host = self.host
        configuration.port = self.port ?? ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 3000
        configuration.devLogin = self.devLogin ?? embedded
        configuration.jwtKey = try JWTKeyFile.load(
            environmentKey: ProcessInfo.processInfo.environment["JWT_KEY"],
            dataDirectory: self.database.dataDirectory,
            logger: logger
        )
        configuration.tokenLifetime = .seconds(self.tokenLifetimeHours * 3600)
        configuration.bcryptCost = self.bcryptCost
        configuration.maxMessageLength = self.maxMessageLength
        configuration.maxGroupSize = self.maxGroupSize
        configuration.heartbeatInterval = .seconds(self.heartbeatSeconds)
        configuration.maxStreamsPerUser = self.maxStreamsPerUser
        configuration.resumeWindow = .seconds(self.resumeWindowHours * 3600)
        configuration.databasePoolSize = self.poolSize
        configuration.loginAttemptsPerMinute = self.loginAttemptsPerMinute
        configuration.webDirectory = self.webDir ?? ResourceLocator.find("web")?.path
        if configuration.devLogin { logger.notice("dev login is ON: anyone can sign in with just a username") }

        let server: MessengerServer
        do {
            server = try await MessengerServer.build(
                configuration: configuration,
                database: databaseConfiguration,
                migrationsDirectory: try self.database.schemaDirectory(),
                logger: logger
            )
        } catch {
            for service in services { (service as? EmbeddedPostgresService).map { if $0.ownsServer { try? $0.cluster.stop() } } }
            throw error
        }
        services += server.services
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
