import HTTPTypes
import Hummingbird

/// Adds the browser security headers to every response (web app, API and errors alike).
///
/// The policy allows only the app's own scripts, styles and connections (no inline script, no `eval`), `data:`
/// images for the inline favicon, and no framing at all (clickjacking). Style changes made from script through
/// the CSSOM (`element.style.height = …`) are not inline styles and stay allowed.
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    public static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        // For browsers that predate `frame-ancestors`.
        response.headers[.xFrameOptions] = "DENY"
        return response
    }
}

extension HTTPField.Name {
    fileprivate static var referrerPolicy: Self { Self("Referrer-Policy")! }
    fileprivate static var xFrameOptions: Self { Self("X-Frame-Options")! }
}
