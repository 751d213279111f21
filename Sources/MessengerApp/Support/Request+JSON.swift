import Foundation
import Hummingbird

extension Request {
    /// Decodes a JSON body: 413 past `limit` bytes, 400 when malformed or of the wrong shape.
    func decodeJSON<T: Decodable>(as type: T.Type, limit: Int) async throws -> T {
        let buffer = try await self.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { throw AppError.badRequest("missing JSON body") }
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    }

    /// Like ``decodeJSON(as:limit:)`` but an empty body gives nil.
    func decodeOptionalJSON<T: Decodable>(as type: T.Type, limit: Int) async throws -> T? {
        let buffer = try await self.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return nil }
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    }
}
