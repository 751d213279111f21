import Hummingbird

/// Answers every error with a JSON body (``AppError/init(mapping:logger:)``): client errors keep their status,
/// anything unknown becomes a generic 500 (503 when the database is unavailable) whose detail goes to the log only.
/// It returns a response instead of rethrowing so the middleware outside it (security headers, metrics, request
/// log) sees the final status.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return AppError(mapping: error, logger: context.logger).response
        }
    }
}
