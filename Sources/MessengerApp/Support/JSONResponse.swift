import Foundation
import Hummingbird
import NIOCore

/// Encodes a value as a JSON response with a status: a ``JSONObjectDescribing`` model (or an array of them) by hand,
/// anything else with `JSONEncoder`.
public enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    public static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// A model that describes its JSON: written by hand. `JSONEncoder` spent ~40% of the server's CPU on a page of
    /// conversations (generic containers, a dictionary per object, dynamic casts; README "Benchmarks"). Chosen over
    /// the `Encodable` overload wherever the model conforms.
    static func make(_ value: some JSONObjectDescribing, status: HTTPResponse.Status = .ok) -> Response {
        Self.bytes(value.jsonBytes, status: status)
    }

    /// An array of models that describe their JSON: written by hand into one buffer.
    static func make(_ values: [some JSONObjectDescribing], status: HTTPResponse.Status = .ok) -> Response {
        Self.bytes(JSONObjectWriter.arrayBytes(values), status: status)
    }

    static func bytes(_ bytes: [UInt8], status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
