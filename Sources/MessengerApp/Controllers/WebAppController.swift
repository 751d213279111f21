import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// The single-page app: files from `web/` are served by `FileMiddleware`; every other non-API GET gets
/// `index.html` so that client-side routes survive a reload. Unknown `/api/…` paths are JSON 404s.
public struct WebAppController: Sendable {
    let webDirectory: String?

    public init(webDirectory: String?) {
        self.webDirectory = webDirectory
    }

    public func routes(on router: Router<AppRequestContext>) {
        router.addMiddleware {
            if let webDirectory {
                FileMiddleware(webDirectory, searchForIndexHtml: true)
            }
        }
        let notFound: @Sendable (Request, AppRequestContext) async throws -> Response = { _, _ in throw AppError.notFound() }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("api/**", method: method, use: notFound)
        }
        router.get("**") { request, _ in
            guard let webDirectory = self.webDirectory else { throw AppError.notFound() }
            let path = request.uri.path
            // stat() and the read block: on a thread-pool thread, never on the cooperative pool.
            let page = try await NIOThreadPool.singleton.runIfActive { () -> Page in
                // FileMiddleware serves files only when the route says 404: say it for every existing file.
                if !path.contains(".."), path != "/" {
                    var isDirectory: ObjCBool = false
                    if FileManager.default.fileExists(atPath: webDirectory + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                        return .existingFile
                    }
                }
                return FileManager.default.contents(atPath: webDirectory + "/index.html").map(Page.index) ?? .missing
            }
            switch page {
            case .existingFile: throw HTTPError(.notFound)
            case .missing: throw AppError.notFound()
            case .index(let data):
                return Response(
                    status: .ok,
                    headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data))
                )
            }
        }
    }

    /// What the fallback route found on disk.
    private enum Page: Sendable {
        case existingFile
        case missing
        case index(Data)
    }
}
