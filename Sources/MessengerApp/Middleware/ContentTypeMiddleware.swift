import Hummingbird

/// POST bodies must be JSON: 415 otherwise, checked before the guard as the tutorial did. A POST without a body
/// (logout, refresh, read_messages) needs no content type.
public struct ContentTypeMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .post || request.method == .put || request.method == .patch {
            let hasBody = request.headers[.contentLength].map { $0 != "0" } ?? (request.headers[.transferEncoding] != nil)
            if hasBody {
                let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
                guard type == "application/json" else {
                    throw AppError(.unsupportedMediaType, "Content-Type must be application/json")
                }
            }
        }
        return try await next(request, context)
    }
}
