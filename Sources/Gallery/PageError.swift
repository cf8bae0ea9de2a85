import HTTPTypes
import Hummingbird
import RevsdProtocol

/// A request that ends in an error page: its status, a title, one line.
public struct PageError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var title: String
    public var message: String
    /// Extra markup under the message (built by this program).
    public var detail: HTML

    public init(_ status: HTTPResponse.Status, _ title: String, _ message: String, detail: HTML = .empty) {
        self.status = status; self.title = title; self.message = message; self.detail = detail
    }

    public static func == (a: PageError, b: PageError) -> Bool {
        a.status == b.status && a.title == b.title && a.message == b.message && a.detail == b.detail
    }

    public static let notFound = PageError(.notFound, "Not found", "There is no such page or image.")

    /// What a failure of the control client means to the page's user.
    public static func from(_ failure: ControlClient.Failure, socket: String) -> PageError {
        switch failure {
        case let .daemon(e):
            switch e.code {
            case .notFound: return PageError(.notFound, "Not found", e.message)
            case .badRequest: return PageError(.badRequest, "Bad request", e.message)
            case .unavailable, .busy: return PageError(.serviceUnavailable, "revsdd cannot answer this now", e.message)
            case .forbidden: return PageError(.forbidden, "Not allowed", e.message)
            default: return PageError(.badGateway, "revsdd reported an error", e.message)
            }
        case .notRunning, .permissionDenied, .io:
            return PageError(.serviceUnavailable, "revsdd is unreachable", failure.description,
                             detail: "<p>revsd-web talks to revsdd only through its control socket, <code>\(socket)</code>. Fix the above, then reload this page.</p>")
        }
    }

    /// Any error a handler threw, as a page.
    static func from(_ error: any Error, socket: String) -> PageError {
        switch error {
        case let e as PageError: return e
        case let e as ControlClient.Failure: return from(e, socket: socket)
        case let e as HTTPError:
            switch e.status {
            case .notFound: return .notFound
            case .methodNotAllowed: return PageError(.methodNotAllowed, "Method not allowed", e.body ?? "This address takes another method.")
            default: return PageError(e.status, e.status.reasonPhrase, e.body ?? e.status.reasonPhrase)
            }
        default: return PageError(.internalServerError, "Internal error", String(describing: error))
        }
    }

    var html: HTML {
        Layout.page(title: title, kind: "error", body: """
            <section class="error"><h1>\(title)</h1><p class="message">\(message)</p>\(detail)<p><a href="/">Back to the library</a></p></section>
            """)
    }

    var response: Response {
        var r = Layout.response(status, html)
        if status == .methodNotAllowed { r.headers[.allow] = "POST" }
        return r
    }
}
