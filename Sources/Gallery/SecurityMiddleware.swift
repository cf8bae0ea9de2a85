import HTTPTypes
import Hummingbird

/// Every request passes here first, in this order: the Host check (DNS
/// rebinding: 403 before anything else), the token (`?token=` sets the
/// cookie and redirects without it; then the cookie; else 401), then the
/// route, whose errors become pages. Every response, error pages included,
/// leaves with the security headers.
struct SecurityMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: SessionToken
    let hosts: HostCheck
    let socketPath: String

    static var headers: [(HTTPField.Name, String)] {
        [
            (.contentSecurityPolicy, "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
            (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
            (HTTPField.Name("X-Frame-Options")!, "DENY"),
            (.xContentTypeOptions, "nosniff"),
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = await respond(request, context: context, next: next)
        for (name, value) in Self.headers { response.headers[name] = value }
        return response
    }

    func respond(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async -> Response {
        guard hostAllowed(request) else {
            return PageError(.forbidden, "Wrong host name",
                             "This page answers only to 127.0.0.1, [::1] or localhost (another name could be a DNS rebinding attack).").response
        }
        let query = request.uri.query ?? ""
        let fields = FormFields(query)
        if let given = fields["token"] {
            guard token.matches(given) else { return Self.unauthorized }
            var r = Response(status: .seeOther)
            r.headers[.location] = Self.withoutToken(path: request.uri.path, query: query)
            r.headers[.setCookie] = "\(SessionToken.cookieName)=\(token.hex); HttpOnly; SameSite=Strict; Path=/"
            r.headers[.cacheControl] = "no-store"
            return r
        }
        guard let cookie = request.cookies[SessionToken.cookieName]?.value, token.matches(cookie) else { return Self.unauthorized }
        do { return try await next(request, context) } catch {
            return PageError.from(error, socket: socketPath).response
        }
    }

    /// Every Host this request names (its authority and any Host field) is allowed, and there is one.
    func hostAllowed(_ request: Request) -> Bool {
        var names: [String] = request.head.authority.map { [$0] } ?? []
        names += request.headers[values: HTTPField.Name("Host")!]
        return !names.isEmpty && names.allSatisfy(hosts.allows)
    }

    static var unauthorized: Response {
        PageError(.unauthorized, "Open the page's address",
                  "This page needs its token: open the address that `revsdctl web` prints (or the first line revsd-web printed).").response
    }

    /// The same address without its `token` field (the rest kept as sent).
    static func withoutToken(path: String, query: String) -> String {
        let kept = query.split(separator: "&").filter { item in
            let key = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return FormFields.decode(key) != "token"
        }
        let p = path.hasPrefix("/") && !path.hasPrefix("//") ? path : "/"
        return kept.isEmpty ? p : p + "?" + kept.joined(separator: "&")
    }
}
