import Hummingbird

/// Counts every request by route pattern, method and status, and records its latency (to the response head: for
/// the SSE stream, the time to open it). Installed outside ``ErrorMiddleware``, so the status it records is the one
/// the client got.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: AppMetrics

    public init(metrics: AppMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        return try await ObservedResponse.run(request, context: context, next: next) { status in
            self.record(request, context: context, status: status, start: start)
        }
    }

    private func record(_ request: Request, context: Context, status: Int, start: ContinuousClock.Instant) {
        // The matched pattern (a reference the router fills in), never the raw path: unmatched requests share one
        // series so that scanners cannot create unbounded label values.
        let route = context.endpointPath ?? "unmatched"
        self.metrics.request(route: route, method: request.method.rawValue, status: status, duration: ContinuousClock.now - start)
    }
}
