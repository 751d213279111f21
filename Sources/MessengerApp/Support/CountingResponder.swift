import Hummingbird

/// Counts the requests being handled (``RequestLoad``) around the responder it wraps.
struct CountingResponder<Inner: HTTPResponder>: HTTPResponder {
    typealias Context = Inner.Context
    let inner: Inner
    let load: RequestLoad

    @Sendable func respond(to request: Request, context: Context) async throws -> Response {
        try await self.load.counting { try await self.inner.respond(to: request, context: context) }
    }
}
