import Hummingbird

/// The guard: every route behind it gets an authenticated ``AppRequestContext/identity`` or a 401.
public struct AuthMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let authenticator: Authenticator

    public init(authenticator: Authenticator) {
        self.authenticator = authenticator
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            context.identity = try await self.identify(request)
        } catch let error as AppError where request.headers[.upgrade]?.lowercased() == "websocket" {
            // A refused WebSocket upgrade can only be a bare 400 (browsers do not even show its status), so the
            // socket opens and says why in an `error` frame before closing (see ``WebSocketController``).
            context.authFailure = error
        }
        return try await next(request, context)
    }

    /// The identity of the request's token, or a 401.
    func identify(_ request: Request) async throws -> Identity {
        guard let token = Authenticator.token(from: request) else {
            throw AppError.unauthorized("missing token")
        }
        guard let identity = try await self.authenticator.authenticate(token) else {
            throw AppError.unauthorized("invalid or expired token")
        }
        return identity
    }
}
