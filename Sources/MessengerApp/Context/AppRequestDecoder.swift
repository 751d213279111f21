import Foundation
import Hummingbird
import NIOCore

/// The request context's JSON decoder: 413 past the context's `maxUploadSize`, 400 when the body is missing,
/// malformed or of the wrong shape, 422 naming the field when a string holds a NUL or an unpaired surrogate.
public struct AppRequestDecoder: RequestDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        guard let value = try await Self.decodeIfPresent(T.self, from: request, limit: context.maxUploadSize) else {
            throw AppError.badRequest("missing JSON body")
        }
        return value
    }

    /// Like ``decode(_:from:context:)`` but an empty body gives nil.
    static func decodeIfPresent<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T? {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw AppError(.contentTooLarge, "request body too large")
        }
        guard buffer.readableBytes > 0 else { return nil }
        return try Self.decode(T.self, from: buffer.readableBytesView)
    }

    /// Decodes JSON text with the same checks as a request body (also used for WebSocket frames). A
    /// ``FlatJSONDecodable`` type whose body is a flat object of strings is read by ``FlatJSONObject`` instead, which
    /// leaves every other body to the checks and `JSONDecoder` below.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: ByteBufferView) throws -> T {
        if let flat = T.self as? any FlatJSONDecodable.Type,
            let members = bytes.withContiguousStorageIfAvailable({ FlatJSONObject.parse($0) }) ?? nil,
            let value = flat.init(flatJSON: members) as? T
        {
            return value
        }
        if let field = JSONTextCheck.fieldWithBadText(in: bytes) {
            throw AppError.validation([field: "\(field) must not contain NUL characters or unpaired surrogates"])
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw AppError.badRequest(Self.describe(error))
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
