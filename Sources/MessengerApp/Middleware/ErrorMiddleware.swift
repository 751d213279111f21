import Hummingbird
import Logging
import NIOCore
import PostgresLibPQ

/// Turns every error into a JSON response with the right status. Database errors become a generic 503/500 and
/// their text goes to the log only.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return Self.response(Self.appError(error, logger: context.logger))
        }
    }

    /// The client error an error stands for (also used for WebSocket `error` frames). Database text and unexpected
    /// errors go to the log only.
    static func appError(_ error: any Error, logger: Logger) -> AppError {
        switch error {
        case let error as AppError:
            return error
        case let error as HTTPError:
            var appError = AppError(error.status, error.body ?? Self.defaultMessage(error.status))
            appError.headers = error.headers
            if error.status == .notFound && error.body == nil { appError.message = "not found" }
            return appError
        case is NIOTooManyBytesError:
            return AppError(.contentTooLarge, "request body too large")
        case let error as DecodingError:
            return AppError(.badRequest, Self.describe(error))
        case let error as PostgresError where error.kind == .invalidBind:
            // Input validation should have caught it; a client's bad text is still the client's error, not ours.
            logger.warning("invalid text reached the database layer", metadata: ["error": "\(error.debugDescription)"])
            return AppError(.unprocessableContent, "invalid text in the request")
        case let error as PostgresError:
            logger.error("database error", metadata: ["error": "\(error.debugDescription)"])
            if error.isConnectionError || error.kind == .poolTimeout {
                return AppError(.serviceUnavailable, "database unavailable")
            }
            return AppError(.internalServerError, "internal error")
        default:
            logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            return AppError(.internalServerError, "internal error")
        }
    }

    static func response(_ error: AppError) -> Response {
        var headers = error.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Self.body(error))))
    }

    /// The JSON body of an error (also the `data` of a WebSocket `error` frame).
    static func body(_ error: AppError) -> String {
        var body = "{\"error\":" + JSONText.quote(error.message)
        if let fields = error.fieldErrors {
            body += ",\"errors\":{"
            body += fields.sorted { $0.key < $1.key }.map { JSONText.quote($0.key) + ":" + JSONText.quote($0.value) }.joined(separator: ",")
            body += "}"
        }
        if let extra = error.extra {
            for (key, values) in extra.sorted(by: { $0.key < $1.key }) {
                body += "," + JSONText.quote(key) + ":[" + values.map(JSONText.quote).joined(separator: ",") + "]"
            }
        }
        body += "}"
        return body
    }

    static func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not found"
        case .methodNotAllowed: "method not allowed"
        case .badRequest: "bad request"
        default: status.reasonPhrase.lowercased()
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted: "malformed JSON"
        case .keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "wrong type for field '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        @unknown default: "malformed JSON"
        }
    }
}
