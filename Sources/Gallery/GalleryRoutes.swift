import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import RevsdProtocol

/// revsd-web's pages and endpoints over a backend, behind the security
/// middleware. Everything the executable serves is built here.
public struct Gallery: Sendable {
    public let backend: any GalleryBackend
    public let token: SessionToken
    public let hosts: HostCheck

    public init(backend: any GalleryBackend, token: SessionToken, hosts: HostCheck = HostCheck()) {
        self.backend = backend; self.token = token; self.hosts = hosts
    }

    /// The router; the middleware comes first, so it wraps every route and the 404.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: SecurityMiddleware(token: token, hosts: hosts, socketPath: backend.socketPath))
        router.get("/") { request, _ in try await self.library(request, fragment: false) }
        router.get("/grid") { request, _ in try await self.library(request, fragment: true) }
        router.get("/image/:id") { _, context in try await self.image(context.parameters.get("id")) }
        router.get("/status") { request, _ in try await self.status(request) }
        router.post("/train") { request, _ in try await self.train(request) }
        router.get("/train") { _, _ -> Response in
            throw PageError(.methodNotAllowed, "Method not allowed", "Training starts from the Train button of the status page (a POST form).")
        }
        router.get("/thumb/:id") { request, context in try await self.file(request, context.parameters.get("id"), .thumbnail) }
        router.get("/file/:id") { request, context in try await self.file(request, context.parameters.get("id"), .original) }
        router.get("/static/app.js") { _, _ in StaticAssets.response(StaticAssets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/static/app.css") { _, _ in StaticAssets.response(StaticAssets.stylesheet, type: "text/css; charset=utf-8") }
        return router
    }

    /// The application serving `router()` at `address`; `onRunning` gets the bound port (nil for a unix socket).
    public func application(listen: ListenAddress, logger: Logger,
                            onRunning: @escaping @Sendable (Int?) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(), configuration: ApplicationConfiguration(address: listen.bindAddress, serverName: "revsd-web"),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port) }, logger: logger)
    }

    func fail(_ f: ControlClient.Failure) -> PageError { PageError.from(f, socket: backend.socketPath) }

    func library(_ request: Request, fragment: Bool) async throws -> Response {
        let query = try LibraryQuery.parse(FormFields(request.uri.query ?? ""))
        let results: HTML
        do {
            if query.q != nil {
                results = LibraryPage.searchResults(try await backend.search(query.searchRequest), query: query)
            } else {
                results = LibraryPage.libraryResults(try await backend.images(query.imagesRequest), query: query)
            }
        } catch { throw fail(error) }
        return Layout.response(.ok, fragment ? results : LibraryPage.page(query, results: results))
    }

    func image(_ idText: String?) async throws -> Response {
        guard let id = idText.flatMap(ImageID.parse) else { throw PageError.notFound }
        let result: ImageResult
        do { result = try await backend.image(ImageRequest(imageID: id)) } catch { throw fail(error) }
        let similar: Result<SimilarResult, PageError>
        do { similar = .success(try await backend.similar(SimilarRequest(imageID: id, k: 13))) } catch { similar = .failure(fail(error)) }
        return Layout.response(.ok, ImagePage.page(result, similar: similar))
    }

    func status(_ request: Request) async throws -> Response {
        let s: StatusResult
        do { s = try await backend.status() } catch { throw fail(error) }
        let failed: Result<FailedResult, PageError>
        do { failed = .success(try await backend.failed(FailedRequest(limit: 100))) } catch { failed = .failure(fail(error)) }
        let notice: String? = switch FormFields(request.uri.query ?? "")["train"] {
        case "started": "Training started."
        case "running": "A training run is already going on."
        default: nil
        }
        return Layout.response(.ok, StatusPage.page(s, failed: failed, csrf: token.csrf, notice: notice))
    }

    func train(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        let form = FormFields(String(buffer: body))
        guard let csrf = form["csrf"], token.matchesCSRF(csrf) else {
            throw PageError(.forbidden, "Form expired", "This form's CSRF token is missing or wrong: reload the status page and press Train again.")
        }
        let r: TrainResult
        do { r = try await backend.train(TrainRequest()) } catch { throw fail(error) }
        var response = Response(status: .seeOther)
        response.headers[.location] = r.started == false ? "/status?train=running" : "/status?train=started"
        return response
    }

    /// `/thumb/ID` and `/file/ID`: the bytes of the descriptor revsdd passed, with its type and validator.
    func file(_ request: Request, _ idText: String?, _ kind: ImageFileKind) async throws -> Response {
        guard let id = idText.flatMap(ImageID.parse) else { throw PageError.notFound }
        let file: PassedFile
        do { file = try await backend.imageFile(ImageFileRequest(imageID: id, kind: kind)) } catch { throw fail(error) }
        var headers = HTTPFields()
        let etag = ImageFiles.quoted(file.result.etag)
        headers[.eTag] = etag
        headers[.cacheControl] = kind == .thumbnail ? "private, max-age=86400" : "private, max-age=300"
        if let inm = request.headers[.ifNoneMatch], ImageFiles.matches(ifNoneMatch: inm, etag: etag) {
            return Response(status: .notModified, headers: headers)
        }
        let bytes = try await NIOThreadPool.singleton.runIfActive { try file.readAll() }
        headers[.contentType] = ImageFiles.contentType(file.result.mediaType)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The HTTP side of image files: validators and types.
enum ImageFiles {
    static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/webp", "image/gif", "image/avif"]

    /// Only image types pass; anything else is served as bytes.
    static func contentType(_ mediaType: String) -> String {
        imageTypes.contains(mediaType.lowercased()) ? mediaType.lowercased() : "application/octet-stream"
    }

    /// The etag as an HTTP entity tag (quoted once; quotes and controls inside dropped).
    static func quoted(_ etag: String) -> String {
        let inner = etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count >= 2 ? String(etag.dropFirst().dropLast()) : etag
        return "\"" + inner.filter { $0 != "\"" && $0.isASCII && !$0.isWhitespace } + "\""
    }

    /// Whether an If-None-Match list names `etag` (weak comparison, `*` matches).
    static func matches(ifNoneMatch: String, etag: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { item in
            var t = item.trimmingCharacters(in: .whitespaces)
            if t == "*" { return true }
            if t.hasPrefix("W/") { t.removeFirst(2) }
            return t == etag
        }
    }
}
