import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Decodes a JSON body: 413 past `limit` bytes, 400 when malformed or of the wrong shape, 422 naming the field
    /// when a string holds a NUL or an unpaired surrogate.
    func decodeJSON<T: Decodable>(as type: T.Type, limit: Int) async throws -> T {
        let buffer = try await self.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { throw AppError.badRequest("missing JSON body") }
        return try Self.decode(T.self, from: buffer.readableBytesView)
    }

    /// Like ``decodeJSON(as:limit:)`` but an empty body gives nil.
    func decodeOptionalJSON<T: Decodable>(as type: T.Type, limit: Int) async throws -> T? {
        let buffer = try await self.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return nil }
        return try Self.decode(T.self, from: buffer.readableBytesView)
    }

    /// Decodes JSON text with the same checks as a request body (also used for WebSocket frames).
    static func decode<T: Decodable>(_ type: T.Type, from bytes: ByteBufferView) throws -> T {
        if let field = JSONTextCheck.fieldWithBadText(in: bytes) {
            throw AppError.validation([field: "\(field) must not contain NUL characters or unpaired surrogates"])
        }
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    }
}
