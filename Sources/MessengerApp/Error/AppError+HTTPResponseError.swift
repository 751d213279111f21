import Hummingbird
import NIOCore

extension AppError: HTTPResponseError {
    /// The error as a response: its status and headers, and ``jsonBody`` as `application/json`.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        self.response
    }

    /// The same response without a request (the error middleware answers with it).
    var response: Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: self.jsonBody)))
    }
}
