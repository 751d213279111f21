import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import MessengerApp

/// The request log and the metrics take the status of an error that reaches them still thrown from one place,
/// ``AppError/status(of:)`` (the error middleware's own mapping), so both record what the mapping answers. Here the
/// two middleware run without the error middleware, so every error below reaches them thrown.
@Suite("The status the request log and the metrics record for a thrown error")
struct ObservedStatusTests {
    static let cases: [(path: String, error: any Error & Sendable, status: Int)] = [
        ("app", AppError.conflict("taken"), 409),
        ("repository", RepositoryError.notFound, 404),
        ("hummingbird", HTTPError(.methodNotAllowed), 405),
        ("cancelled", CancellationError(), 500),
        ("unknown", CocoaError(.fileNoSuchFile), 500),
    ]

    @Test("a thrown error is logged and counted with the status the error mapping gives it")
    func thrownErrors() async throws {
        let capture = LogCapture()
        let metrics = AppMetrics()
        let router = Router(context: BasicRequestContext.self)
        router.addMiddleware {
            RequestLogMiddleware<BasicRequestContext>()
            HTTPMetricsMiddleware<BasicRequestContext>(metrics: metrics)
        }
        for entry in Self.cases {
            router.get(RouterPath(entry.path)) { _, _ -> Response in throw entry.error }
        }
        let app = Application(router: router, logger: capture.logger())
        try await app.test(.router) { client in
            for entry in Self.cases { _ = try? await client.execute(uri: "/" + entry.path, method: .get) }
        }
        let scrape = String(decoding: metrics.collect(.init(streamsOpen: 0, poolOpen: 0, poolIdle: 0, poolWaiters: 0)), as: UTF8.self)
        for entry in Self.cases {
            #expect(AppError.status(of: entry.error).code == entry.status)
            #expect(capture.all.contains { $0.contains("GET /\(entry.path) \(entry.status)") }, "\(entry.path)")
            #expect(
                scrape.split(separator: "\n").contains { $0.contains("route=\"/\(entry.path)\"") && $0.contains("status=\"\(entry.status)\"") },
                "\(entry.path)")
        }
    }
}
