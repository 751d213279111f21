import Hummingbird

/// A client error with a JSON body: `{"error": "..."}` plus optional field errors (422). Thrown by controllers and
/// middleware; Hummingbird answers it through ``response(from:context:)`` (``HTTPResponseError``).
public struct AppError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var fieldErrors: [String: String]?
    /// Extra string-array members of the body (e.g. the `usernames` a group could not add).
    public var extra: [String: [String]]?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, fieldErrors: [String: String]? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.fieldErrors = fieldErrors
        self.headers = headers
    }

    public static func notFound(_ message: String = "not found") -> AppError { AppError(.notFound, message) }
    public static func badRequest(_ message: String) -> AppError { AppError(.badRequest, message) }
    public static func validation(_ errors: [String: String]) -> AppError {
        AppError(.unprocessableContent, "invalid input", fieldErrors: errors)
    }
    public static func unauthorized(_ message: String = "unauthorized") -> AppError {
        AppError(.unauthorized, message, headers: [.wwwAuthenticate: "Bearer"])
    }
    public static func forbidden(_ message: String) -> AppError { AppError(.forbidden, message) }
    public static func conflict(_ message: String) -> AppError { AppError(.conflict, message) }
}
