import Hummingbird

/// Runs the router for a stream request (`GET /api/messages`) in a child task, so that the connection's own task,
/// which lives as long as the stream, never reaches the depth of the router, the middleware chain and the handler.
///
/// Why: the Swift task allocator keeps every slab a task's async call stack ever needed until the task ends. The
/// connection task of an idle stream only parks in the response body (shallow), but once it had run the router,
/// each middleware, the session check and `RealtimeService.subscribe`, it kept their slabs for the stream's whole
/// life (about 17 KB per idle stream, measured with heaptrack). The child task ends when the router returns the
/// response, and its slabs go with it; the response body (the part that lives long) still runs in the connection
/// task. Every other request runs inline: for a short request the extra task is only overhead.
struct ShallowStreamResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context: Sendable {
    typealias Context = Inner.Context
    let inner: Inner

    @Sendable func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .get, request.uri.path == "/api/messages" else {
            return try await self.inner.respond(to: request, context: context)
        }
        let inner = self.inner
        // A child task rather than `Task {}`: it inherits cancellation and task-local values (logger, tracing).
        return try await withThrowingTaskGroup(of: Response.self) { group in
            group.addTask { try await inner.respond(to: request, context: context) }
            return try await group.next()!
        }
    }
}
