import Foundation
import Testing

/// The OpenAPI document is the contract: every route the router knows is documented, every documented operation
/// exists, and the server serves exactly `docs/openapi.json`.
@Suite struct OpenAPIContractTests {
    static let documentFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/openapi.json").standardizedFileURL

    /// Catch-alls that are not API operations: the JSON 404 for unknown `/api/…` paths and the web app's fallback
    /// (documented in the document's description, not as operations).
    static let undocumentedCatchAlls: Set<String> = ["/api/**", "/**"]

    @Test func everyRouteIsDocumentedAndEveryOperationExists() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let reply = try await APIClient(baseURL: server.baseURL).send(.GET, "/api/openapi.json")
        #expect(reply.status == 200)
        #expect(reply.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true)
        let document = try #require(reply.json as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        // Exactly the repository's docs/openapi.json (generated from docs/openapi.yaml, like the embedded copy).
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.documentFile)) as? NSDictionary
        #expect(file != nil && (document as NSDictionary) == file, "run `python3 scripts/openapi.py generate`")
        let paths = try #require(document["paths"] as? [String: [String: Any]])

        var routed = Set<String>()
        for route in server.routes where !Self.undocumentedCatchAlls.contains(route.path) {
            let path = Self.openAPIPath(route.path)
            routed.insert("\(route.method.lowercased()) \(path)")
            #expect(paths[path]?[route.method.lowercased()] != nil, "\(route.method) \(route.path) is not in the OpenAPI document")
        }
        #expect(routed.count >= 18, "the router listed \(routed.count) routes: \(server.routes)")
        let methods: Set<String> = ["get", "post", "put", "patch", "delete", "head", "options"]
        for (path, item) in paths {
            for method in item.keys where methods.contains(method) {
                #expect(routed.contains("\(method) \(path)"), "\(method.uppercased()) \(path) is documented but no route serves it")
            }
        }
    }

    /// Hummingbird writes parameters as `{id}` or `:id`; OpenAPI as `{id}`.
    static func openAPIPath(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
        }
        let joined = parts.joined(separator: "/")
        return joined.hasPrefix("/") ? joined : "/" + joined
    }
}
