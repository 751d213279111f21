import Hummingbird
import NIOCore

/// `GET /api/openapi.json`: the API's OpenAPI 3.1 document (`docs/openapi.yaml`, embedded at generation time by
/// `scripts/openapi.py`, so the binary needs no file at run time). No token needed: it is the contract.
public struct OpenAPIController: Sendable {
    public init() {}

    public func routes(on router: Router<AppRequestContext>) {
        router.get("api/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json))
            )
        }
    }
}
