import Hummingbird

/// Gives the request context the configured body size limit, which ``AppRequestDecoder`` enforces (the context is
/// built before the configuration is known to it, so the limit arrives here).
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let limit: Int

    public init(limit: Int) { self.limit = limit }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxUploadSize = self.limit
        return try await next(request, context)
    }
}
