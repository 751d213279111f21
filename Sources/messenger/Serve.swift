import ArgumentParser
import Foundation
import Logging
import MessengerApp
import NIOCore
import NIOPosix
import PostgresLibPQ
import ServiceLifecycle

/// `messenger serve`: run the HTTP server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server.",
        discussion: """
            Without DATABASE_URL the server runs its own PostgreSQL cluster in --data-dir (created on first run, \
            stopped with the server) and dev login is on when --host is a loopback address. With DATABASE_URL dev \
            login is off unless --dev-login is given. Start-up failures print one line and exit with status 1.
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
            "Dev login: POST /api/login with only a username signs in, creating the user. Default: on with the embedded database on a loopback --host, off otherwise."
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

    @Option(help: "Hours after sending during which the author may edit a message.")
    var editWindowHours: Double = 48

    @Option(help: "Seconds between SSE heartbeat comments.")
    var heartbeatSeconds: Int = 15

    @Option(help: "Most concurrent streams per user; the oldest closes beyond it.")
    var maxStreamsPerUser: Int = 10

    @Option(help: "Largest inbound WebSocket frame or message in bytes; a bigger one closes the socket with 1009.")
    var maxWebsocketFrameBytes: Int = 16 * 1024

    @Option(help: "Inbound WebSocket frames allowed per second per socket (bursts of twice as many); more closes it with 1008.")
    var websocketFramesPerSecond: Int = 20

    @Option(help: "Hours a Last-Event-ID stays resumable; older ones get an `event: reset`.")
    var resumeWindowHours: Int = 24

    @Option(help: "Presence (who is online, last seen): on or off.")
    var presence: PresenceSwitch = .on

    @Option(help: "Seconds after a user's last stream closes before they are shown offline.")
    var presenceGraceSeconds: Int = 15

    @Option(help: "Seconds between presence heartbeats; an instance silent for four is taken for dead and its users go offline.")
    var presenceHeartbeatSeconds: Int = 5

    @Option(help: "Push notifications for offline recipients: the webhook URL the signed JSON is POSTed to (off by default).")
    var pushWebhook: String?

    @Option(help: "Key of the webhook's HMAC-SHA256 signature, at least 16 bytes (env MESSENGER_PUSH_SECRET).")
    var pushSecret: String?

    @Option(help: "Seconds during which messages to one offline recipient in one conversation become one push.")
    var pushCoalesceSeconds: Double = 3

    @Option(help: "Hours a failing push is retried before it is marked dead.")
    var pushRetryHours: Double = 24

    @Option(help: "Seconds before the first retry of a failed push; each next one doubles (with jitter), up to an hour.")
    var pushBackoffSeconds: Double = 1

    @Option(help: "PostgreSQL connections in the pool.")
    var poolSize: Int = 16

    @Option(help: "Login attempts allowed per username each minute (three times as many per client address).")
    var loginAttemptsPerMinute: Int = 10

    @Option(
        help:
            "Port of a separate /metrics listener (Prometheus text format; env METRICS_PORT). Default: none, metrics are not served."
    )
    var metricsPort: Int?

    @Option(help: "Address of the /metrics listener. Keep it private: loopback or an internal interface.")
    var metricsHost: String = "127.0.0.1"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"

    func run() async throws {
        // Without TZ, glibc's strftime (each log line's timestamp) re-checks /etc/localtime with a stat(2) on every
        // call: a syscall per request log line. Named once, the zone is read once. Before anything else runs.
        if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
        // The same lines as swift-log's default handler, at a fraction of its cost per request (see LineLogHandler).
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, writer: .standardError) }
        var logger = Logger(label: "messenger")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
        let databaseURL = self.database.resolvedDatabaseURL
        do {
            try await self.serve(logger: logger)
        } catch {
            // The log's last lines before the one-line explanation, which goes straight to standard error.
            await LogWriter.standardError.flush()
            throw StartupFailure.report(error, database: StartupFailure.databaseLabel(databaseURL))
        }
        await LogWriter.standardError.flush()
    }

    /// Checks everything that can be checked without side effects first (key, address, folders), so that the
    /// common mistakes fail in milliseconds and before an embedded PostgreSQL is started.
    private func serve(logger: Logger) async throws {
        guard PostgresConnection.isLibraryThreadSafe else {
            throw StartupFailure("this libpq is not thread-safe (PQisthreadsafe() is 0): install Debian's libpq5, which is")
        }
        let port = self.port ?? ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 3000
        let jwtKey = try StartupChecks.environmentJWTKey(ProcessInfo.processInfo.environment["JWT_KEY"])
        try ListenProbe.check(host: self.host, port: port)
        let metricsPort = self.metricsPort ?? ProcessInfo.processInfo.environment["METRICS_PORT"].flatMap(Int.init)
        if let metricsPort { try ListenProbe.check(host: self.metricsHost, port: metricsPort) }
        try self.checkPush()
        let schemaDirectory = try self.database.schemaDirectory()
        try StartupChecks.schemaFolder(schemaDirectory)
        let webDirectory = try StartupChecks.webFolder(explicit: self.webDir, found: ResourceLocator.find("web"), logger: logger)
        let embedded = self.database.resolvedDatabaseURL == nil
        if embedded || jwtKey == nil {
            try StartupChecks.dataFolder(self.database.dataDirectory)
        }

        var services: [any Service] = []
        let databaseConfiguration: PostgresConfiguration
        var embeddedService: EmbeddedPostgresService?
        if let url = self.database.resolvedDatabaseURL {
            databaseConfiguration = PostgresConfiguration(url: url)
        } else {
            let cluster = EmbeddedPostgres(dataDirectory: self.database.dataDirectory, logger: logger)
            // initdb and pg_ctl block for seconds: never on the cooperative pool.
            let started = try await NIOThreadPool.singleton.runIfActive { try cluster.start() }
            let service = EmbeddedPostgresService(cluster: cluster, ownsServer: started)
            services.append(service)
            embeddedService = service
            databaseConfiguration = cluster.configuration
        }
        logger.info("database", metadata: ["connection": "\(databaseConfiguration)"])

        var configuration = AppConfiguration()
        configuration.host = self.host
        configuration.port = port
        // Dev login lets anyone in with a bare username: only by default where nobody else can reach the server.
        configuration.devLogin = self.devLogin ?? (embedded && StartupChecks.isLoopback(self.host))
        configuration.tokenLifetime = .seconds(self.tokenLifetimeHours * 3600)
        configuration.bcryptCost = self.bcryptCost
        configuration.maxMessageLength = self.maxMessageLength
        configuration.maxGroupSize = self.maxGroupSize
        configuration.editWindow = .milliseconds(Int64(max(0, self.editWindowHours) * 3_600_000))
        configuration.heartbeatInterval = .seconds(self.heartbeatSeconds)
        configuration.maxStreamsPerUser = self.maxStreamsPerUser
        configuration.maxWebSocketFrame = max(1, self.maxWebsocketFrameBytes)
        configuration.webSocketFramesPerSecond = max(1, self.websocketFramesPerSecond)
        configuration.resumeWindow = .seconds(self.resumeWindowHours * 3600)
        configuration.databasePoolSize = self.poolSize
        configuration.presenceEnabled = self.presence == .on
        configuration.presenceGrace = .seconds(self.presenceGraceSeconds)
        configuration.presenceHeartbeat = .seconds(max(1, self.presenceHeartbeatSeconds))
        configuration.loginAttemptsPerMinute = self.loginAttemptsPerMinute
        configuration.webDirectory = webDirectory
        if let pushWebhook = self.pushWebhook {
            configuration.pushWebhookURL = pushWebhook
            configuration.pushSecret = Array((self.pushSecret ?? ProcessInfo.processInfo.environment["MESSENGER_PUSH_SECRET"] ?? "").utf8)
            configuration.pushCoalesceWindow = .milliseconds(Int64(max(0, self.pushCoalesceSeconds) * 1000))
            configuration.pushRetryFor = .milliseconds(Int64(max(0, self.pushRetryHours) * 3_600_000))
            configuration.pushBackoffBase = .milliseconds(Int64(max(0.01, self.pushBackoffSeconds) * 1000))
        }
        configuration.metricsPort = metricsPort
        configuration.metricsHost = self.metricsHost
        if configuration.devLogin { logger.notice("dev login is ON: anyone can sign in with just a username") }

        let server: MessengerServer
        do {
            configuration.jwtKey =
                try jwtKey
                ?? JWTKeyFile.load(environmentKey: nil, dataDirectory: self.database.dataDirectory, logger: logger)
            server = try await MessengerServer.build(
                configuration: configuration,
                database: databaseConfiguration,
                migrationsDirectory: schemaDirectory,
                logger: logger
            )
        } catch {
            if let embeddedService { await embeddedService.stopIfOwned() }
            throw error
        }
        services += server.services
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        // SIGTERM must end the process within 10 s in every state: graceful shutdown gets 6 s, then every service
        // is cancelled; one that ignores cancellation for 3 more seconds ends the process with a crash report.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(6)
        groupConfiguration.maximumCancellationDuration = .seconds(3)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch let error as IOError {
            // The HTTP server's bind failed after the probe passed (another program was quicker).
            throw ListenProbe.failure(host: self.host, port: port, errno: error.errnoCode) ?? error
        }
    }

    /// The webhook needs an http(s) URL, a secret to sign with, and presence (who is offline).
    private func checkPush() throws {
        guard let pushWebhook = self.pushWebhook else { return }
        guard let url = URL(string: pushWebhook), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
            throw StartupFailure(
                "--push-webhook \(pushWebhook) is not an http(s) URL: pass the receiver's address, e.g. https://push.example.com/hook")
        }
        let secret = self.pushSecret ?? ProcessInfo.processInfo.environment["MESSENGER_PUSH_SECRET"] ?? ""
        guard secret.utf8.count >= 16 else {
            throw StartupFailure(
                "--push-webhook needs a signing secret of at least 16 bytes: pass --push-secret or set MESSENGER_PUSH_SECRET (e.g. ``openssl rand -hex 32``)"
            )
        }
        guard self.presence == .on else {
            throw StartupFailure("--push-webhook needs presence to know who is offline: remove --presence off")
        }
    }
}
