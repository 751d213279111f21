import Hummingbird

/// What the request log and the metrics middleware share: the status the client got for a request.
enum ObservedResponse {
    /// Runs `next` and calls `observe` with the response's status, or, when `next` throws, with the status
    /// ``AppError/status(of:)`` decides for the error (which is then rethrown).
    static func run<Context: RequestContext>(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response,
        observe: (_ status: Int) -> Void
    ) async throws -> Response {
        do {
            let response = try await next(request, context)
            observe(response.status.code)
            return response
        } catch {
            observe(AppError.status(of: error).code)
            throw error
        }
    }
}
