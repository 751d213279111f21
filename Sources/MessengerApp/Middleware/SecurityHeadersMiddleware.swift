import HTTPTypes
import Hummingbird

/// Adds ``SecurityHeaders`` to every response the router answers (a stream opened by ``DirectStreamOpener`` writes
/// them itself).
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    public static var contentSecurityPolicy: String { SecurityHeaders.contentSecurityPolicy }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for field in SecurityHeaders.fields {
            response.headers[field.name] = field.value
        }
        return response
    }
}
