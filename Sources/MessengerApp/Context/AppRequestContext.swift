import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context: Hummingbird's core storage plus the authenticated identity and the connection's channel
/// (which lets the realtime layer cut off a stream whose client cannot keep up).
public struct AppRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware``.
    public var identity: Identity?
    /// Set by ``AuthMiddleware`` instead of failing a WebSocket upgrade whose token was refused.
    public var authFailure: AppError?
    public let channel: any Channel
    /// Where `GET /api/ws` hands its WebSocket handler to the upgrade.
    public let webSocket: WebSocketHandlerReference<AppRequestContext>
    /// The body size limit ``AppRequestDecoder`` enforces; set by ``BodyLimitMiddleware`` from the configuration.
    public var maxUploadSize: Int = AppConfiguration().maxBodySize
    /// JSON bodies decode with our checks and client errors (`request.decode(as:context:)`).
    public var requestDecoder: AppRequestDecoder { AppRequestDecoder() }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
        self.webSocket = .init()
    }

    /// The identity, or 401 when the guard did not run or found none.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw self.authFailure ?? AppError.unauthorized() }
        return identity
    }

    /// The client's address, for rate limits.
    public var remoteAddress: String {
        self.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
