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
        } catch let error as AppError {
            return Self.response(error)
        } catch let error as HTTPError {
            var appError = AppError(error.status, error.body ?? Self.defaultMessage(error.status))
            appError.headers = error.headers
            if error.status == .notFound && error.body == nil { appError.message = "not found" }
            return Self.response(appError)
        } catch is NIOTooManyBytesError {
            return Self.response(AppError(.contentTooLarge, "request body too large"))
        } catch let error as DecodingError {
            return Self.response(AppError(.badRequest, Self.describe(error)))
        } catch let error as PostgresError where error.kind == .invalidBind {
            // Input validation should have caught it; a client's bad text is still the client's error, not ours.
            context.logger.warning("invalid text reached the database layer", metadata: ["error": "\(error.debugDescription)"])
            return Self.response(AppError(.unprocessableContent, "invalid text in the request"))
        } catch let error as PostgresError {
            context.logger.error("database error", metadata: ["error": "\(error.debugDescription)"])
            if error.isConnectionError || error.kind == .poolTimeout {
                return Self.response(AppError(.serviceUnavailable, "database unavailable"))
            }
            return Self.response(AppError(.internalServerError, "internal error"))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            return Self.response(AppError(.internalServerError, "internal error"))
        }
    }

    static func response(_ error: AppError) -> Response {
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
        var headers = error.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
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
