import Hummingbird
import Logging
import NIOCore

/// Logs method, path, status and duration of every request. Never logs a token: the `token` query parameter is
/// redacted and headers are not logged at all.
public struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let level: Logger.Level

    public init(level: Logger.Level = .info) {
        self.level = level
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        return try await ObservedResponse.run(request, context: context, next: next) { status in
            self.log(request, context: context, status: status, start: start)
        }
    }

    private func log(_ request: Request, context: Context, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        context.logger.log(
            level: self.level,
            "\(request.method) \(Self.redactedPath(request.uri.description)) \(status)",
            metadata: ["duration_us": "\(micros)"]
        )
    }

    /// The path with the value of every `token` query parameter replaced by `***`.
    public static func redactedPath(_ uri: String) -> String {
        guard let question = uri.firstIndex(of: "?") else { return uri }
        let path = uri[..<question]
        let query = uri[uri.index(after: question)...]
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            let name = part.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            let decoded = name.removingPercentEncoding ?? name
            return decoded.lowercased() == "token" || decoded.lowercased() == "access_token" ? "\(name)=***" : String(part)
        }
        return path + "?" + parts.joined(separator: "&")
    }
}
