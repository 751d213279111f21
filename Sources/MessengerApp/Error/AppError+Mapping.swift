import Hummingbird
import Logging
import PostgresLibPQ

extension AppError {
    /// The client error any error stands for: the one mapping from errors to HTTP, used by ``ErrorMiddleware`` and
    /// by WebSocket `error` frames. Domain errors get their status here, at the HTTP edge; database text and
    /// unexpected errors go to the log only (500, or 503 when the database is unreachable or the pool exhausted).
    init(mapping error: any Error, logger: Logger) {
        switch error {
        case let error as AppError:
            self = error
        case let error as RepositoryError:
            self = Self(error)
        case let error as HTTPError:
            // Hummingbird's own errors (no route: 404, wrong method: 405) in our body format.
            self.init(error.status, error.body ?? Self.defaultMessage(error.status), headers: error.headers)
        case let error as PostgresError where error.kind == .invalidBind:
            // Input validation should have caught it; a client's bad text is still the client's error, not ours.
            logger.warning("invalid text reached the database layer", metadata: ["error": "\(error.debugDescription)"])
            self.init(.unprocessableContent, "invalid text in the request")
        case let error as PostgresError:
            logger.error("database error", metadata: ["error": "\(error.debugDescription)"])
            if error.isConnectionError || error.kind == .poolTimeout {
                self.init(.serviceUnavailable, "database unavailable")
            } else {
                self.init(.internalServerError, "internal error")
            }
        default:
            logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            self.init(.internalServerError, "internal error")
        }
    }

    /// The status a thrown error is answered with: ``init(mapping:logger:)``'s decision, without its logging (the
    /// error middleware logs each error once). The request log and the metrics use it for what passes the error
    /// middleware still thrown (a cancelled request), so one place decides the status of every error.
    static func status(of error: any Error) -> HTTPResponse.Status {
        AppError(mapping: error, logger: Self.silentLogger).status
    }

    private static let silentLogger = Logger(label: "messenger.error-status") { _ in SwiftLogNoOpLogHandler() }

    /// A repository's domain error as HTTP.
    init(_ error: RepositoryError) {
        switch error {
        case .notFound: self = .notFound()
        case .conflict(let message): self = .conflict(message)
        }
    }

    static func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not found"
        case .methodNotAllowed: "method not allowed"
        case .badRequest: "bad request"
        default: status.reasonPhrase.lowercased()
        }
    }
}
