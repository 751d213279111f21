import HTTPTypes

/// The browser security headers every response carries (web app, API, errors and streams alike).
///
/// The policy allows only the app's own scripts, styles and connections (no inline script, no `eval`), `data:`
/// images for the inline favicon, and no framing at all (clickjacking). Style changes made from script through
/// the CSSOM (`element.style.height = …`) are not inline styles and stay allowed.
public enum SecurityHeaders {
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// Every header, in the order they are written.
    public static let fields: [(name: HTTPField.Name, value: String)] = [
        (.contentSecurityPolicy, contentSecurityPolicy),
        (.xContentTypeOptions, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        // For browsers that predate `frame-ancestors`.
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
    ]
}
