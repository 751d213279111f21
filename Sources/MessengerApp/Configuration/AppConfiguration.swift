import Foundation
import NIOCore

/// Everything the application needs to know at start, gathered by the `messenger serve` command.
public struct AppConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 3000
    /// `POST /api/login {"username"}` without a password signs in (creating the user). For testing only.
    public var devLogin = false
    /// HMAC-SHA256 key for tokens.
    public var jwtKey: [UInt8] = []
    public var tokenLifetime: Duration = .seconds(14 * 24 * 3600)
    /// Largest accepted request body.
    public var maxBodySize = 64 * 1024
    public var maxMessageLength = 480
    public var maxGroupSize = 1000
    /// How long after sending the author may edit a message (deleting has no limit).
    public var editWindow: Duration = .seconds(48 * 3600)
    /// bcrypt cost factor (2^cost rounds).
    public var bcryptCost = 12
    /// Login attempts allowed per username and per client address each minute.
    public var loginAttemptsPerMinute = 10
    /// How long a session check is cached: the most a logout can lag on another instance.
    public var sessionCacheTTL: Duration = .seconds(5)
    public var heartbeatInterval: Duration = .seconds(15)
    /// `retry:` hint sent to EventSource clients, in milliseconds.
    public var retryMilliseconds = 2000
    public var maxStreamsPerUser = 10
    /// How far a stream may fall behind before it is cut off as too slow: frames queued per WebSocket (and per SSE
    /// stream before its response starts); an SSE connection's unsent bytes in KiB (at least 64).
    public var streamBufferSize = 1024

    /// An SSE connection's write-buffer water marks: past the high one its client is cut off as too slow.
    var streamWaterMark: ChannelOptions.Types.WriteBufferWaterMark {
        let high = max(64 * 1024, self.streamBufferSize * 1024)
        return .init(low: high / 2, high: high)
    }
    /// Whether plain stream requests are opened without the HTTP stack (``DirectStreamOpener``); off, every stream
    /// goes through the router (``StreamController``), as any request the opener declines does. Tests run both.
    public var directStreams = true
    /// Whether an HTTP connection's task runs on its event loop while the server handles one request at a time
    /// (``ConnectionTaskExecutor``); off, always on the cooperative pool.
    public var quietRequestsOnEventLoop = true
    /// Largest inbound WebSocket frame or message; a bigger one closes the socket with 1009.
    public var maxWebSocketFrame = 16 * 1024
    /// Inbound WebSocket frames allowed per second per socket (with a burst of twice as many); more closes it with 1008.
    public var webSocketFramesPerSecond = 20
    /// How far back `Last-Event-ID` can resume before the client is told to reset.
    public var resumeWindow: Duration = .seconds(24 * 3600)
    /// Most events replayed on resume; beyond that the client is told to reset.
    public var maxReplayEvents = 10_000
    /// Most events written (by anyone) since a client's position for it to be replayed: a resume scans them, so
    /// beyond this the client is told to reset instead (bounds the cost of one reconnect).
    public var maxReplayScan: Int64 = 100_000
    /// How often the dispatcher looks at the tables without being woken: a safety net for a missed wake-up. Local
    /// commits and other instances' `NOTIFY` wake it at once; tests set this high to prove that.
    public var safetyLookInterval: Duration = .seconds(1)
    /// Presence (who is online, last seen). Off: no presence events, no presence fields in REST answers.
    public var presenceEnabled = true
    /// How long after a user's last stream closes they are shown offline (a reload must not flap).
    public var presenceGrace: Duration = .seconds(15)
    /// How often an instance refreshes its presence heartbeat; one silent for four heartbeats counts as dead.
    public var presenceHeartbeat: Duration = .seconds(5)
    /// How long a typing indicator lasts unless refreshed (clients expire it).
    public var typingTimeout: Duration = .seconds(6)
    /// Typing refreshes accepted per user and conversation: one per this interval; extra calls are dropped.
    public var typingRefresh: Duration = .seconds(2)
    /// Push notifications for offline recipients: the receiver's URL; nil records and sends none.
    public var pushWebhookURL: String?
    /// HMAC-SHA256 key for the `Messenger-Signature` header.
    public var pushSecret: [UInt8] = []
    /// Messages to one offline recipient in one conversation within this window become one push.
    public var pushCoalesceWindow: Duration = .seconds(3)
    /// How long a push is retried (timeouts, 5xx, 429, connection errors) before it is marked dead.
    public var pushRetryFor: Duration = .seconds(24 * 3600)
    /// The first retry's delay; each next one doubles (with jitter), up to ``pushMaxBackoff``.
    public var pushBackoffBase: Duration = .seconds(1)
    public var pushMaxBackoff: Duration = .seconds(3600)
    /// One delivery attempt's timeout; a claimed push is taken again by any worker this long (plus a margin) later.
    public var pushTimeout: Duration = .seconds(10)
    /// Longest sleep of an idle push worker between looks at the outbox.
    public var pushPollInterval: Duration = .seconds(1)
    /// Folder with the web app; nil serves no files.
    public var webDirectory: String?
    public var databasePoolSize = 16
    /// Port of the separate `/metrics` listener; nil serves no metrics (they are still counted).
    public var metricsPort: Int?
    /// Address of the `/metrics` listener: loopback unless the operator says otherwise.
    public var metricsHost = "127.0.0.1"

    public init() {}
}
