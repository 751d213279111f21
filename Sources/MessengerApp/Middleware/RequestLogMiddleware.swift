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
        Self.log(
            method: request.method.rawValue, uri: request.uri.description, status: status, elapsed: ContinuousClock.now - start,
            level: self.level, to: context.logger)
    }

    /// One request-log line (also written by ``DirectStreamOpener`` for the streams it opens): method, redacted
    /// path, status, and the duration in microseconds.
    static func log(method: String, uri: String, status: Int, elapsed: Duration, level: Logger.Level, to logger: Logger) {
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        logger.log(level: level, "\(method) \(Self.redactedPath(uri)) \(status)", metadata: ["duration_us": "\(micros)"])
    }

    /// The path with the value of every `token` (or `access_token`) query parameter replaced by `***`.
    ///
    /// Works on UTF-8 code units (every stream request is logged, and a token makes its query long): `?`, `&` and `=`
    /// are ASCII and never part of a multi-byte character, so the cuts fall on character boundaries.
    public static func redactedPath(_ uri: String) -> String {
        let bytes = uri.utf8
        guard let question = bytes.firstIndex(of: UInt8(ascii: "?")) else { return uri }
        var result = String(uri[...question])
        var start = bytes.index(after: question)
        while true {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            let part = uri[start..<end]
            let name = part.utf8.firstIndex(of: UInt8(ascii: "=")).map { part[..<$0] } ?? part
            // Percent-decoding (slow) only for a name that needs it.
            let decoded = name.utf8.contains(UInt8(ascii: "%")) ? Substring(name.removingPercentEncoding ?? String(name)) : name
            result += Self.isTokenName(decoded) ? "\(name)=***" : part
            guard end < bytes.endIndex else { break }
            result += "&"
            start = bytes.index(after: end)
        }
        return result
    }

    private static func isTokenName(_ name: Substring) -> Bool {
        name.utf8.count <= 12 && (name.lowercased() == "token" || name.lowercased() == "access_token")
    }
}
