import Hummingbird

/// The guard: every route behind it gets an authenticated ``AppRequestContext/identity`` or a 401.
public struct AuthMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let authenticator: Authenticator

    public init(authenticator: Authenticator) {
        self.authenticator = authenticator
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = Authenticator.token(from: request) else {
            throw AppError.unauthorized("missing token")
        }
        guard let identity = try await self.authenticator.authenticate(token) else {
            throw AppError.unauthorized("invalid or expired token")
        }
        var context = context
        context.identity = identity
        return try await next(request, context)
    }
}
