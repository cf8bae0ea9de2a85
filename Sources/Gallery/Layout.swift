import HTTPTypes
import Hummingbird
import NIOCore

/// The frame of every page: no inline script or style (the CSP forbids
/// them), the asset links, the header with the search box.
enum Layout {
    static func page(title: String, kind: String, query: String = "", body: HTML) -> HTML {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title) · revsd</title>
        <link rel="stylesheet" href="/static/app.css">
        <script src="/static/app.js" defer></script>
        </head><body data-page="\(kind)">
        <header class="top"><a class="home" href="/">revsd</a>
        <form class="search" action="/" method="get" role="search">
        <input type="search" name="q" id="q" value="\(query)" placeholder="Search prompts (press /)" autocomplete="off" aria-label="Search prompts">
        </form>
        <nav><a href="/">Library</a><a href="/status">Status</a></nav></header>
        <main>
        \(body)
        </main></body></html>

        """
    }

    static func response(_ status: HTTPResponse.Status, _ html: HTML) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html.markup)))
    }
}
