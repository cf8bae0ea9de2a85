import NIOPosix
import RevsdProtocol

/// The backend of revsd-web: the typed control client, whose calls block,
/// run on NIO's thread pool (never on an event loop).
public struct SocketBackend: GalleryBackend {
    public let client: ControlClient
    public var socketPath: String { client.socketPath }

    public init(socketPath: String, timeout: Double = 30) {
        client = ControlClient(socketPath: socketPath, timeout: timeout)
    }

    /// `body` on the thread pool, its failure as it threw it.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(ControlClient.Failure) -> T) async throws(ControlClient.Failure) -> T {
        let outcome: Result<T, ControlClient.Failure>
        do {
            outcome = try await NIOThreadPool.singleton.runIfActive { () -> Result<T, ControlClient.Failure> in
                do throws(ControlClient.Failure) { return .success(try body()) } catch { return .failure(error) }
            }
        } catch {
            throw .io("\(client.socketPath): cannot reach revsdd: the thread pool is shut down (\(error))")
        }
        return try outcome.get()
    }

    func call<R: ControlRequest>(_ request: R) async throws(ControlClient.Failure) -> R.Result {
        let client = self.client
        return try await blocking { () throws(ControlClient.Failure) -> R.Result in try client.call(request) }
    }

    public func status() async throws(ControlClient.Failure) -> StatusResult { try await call(StatusRequest()) }
    public func failed(_ request: FailedRequest) async throws(ControlClient.Failure) -> FailedResult { try await call(request) }
    public func images(_ request: ImagesRequest) async throws(ControlClient.Failure) -> ImagesResult { try await call(request) }
    public func image(_ request: ImageRequest) async throws(ControlClient.Failure) -> ImageResult { try await call(request) }
    public func search(_ request: SearchRequest) async throws(ControlClient.Failure) -> SearchResult { try await call(request) }
    public func similar(_ request: SimilarRequest) async throws(ControlClient.Failure) -> SimilarResult { try await call(request) }
    public func train(_ request: TrainRequest) async throws(ControlClient.Failure) -> TrainResult { try await call(request) }

    public func imageFile(_ request: ImageFileRequest) async throws(ControlClient.Failure) -> PassedFile {
        let client = self.client
        return try await blocking { () throws(ControlClient.Failure) -> PassedFile in
            let (result, fd) = try client.callReceiving(request)
            return PassedFile(result: result, descriptor: fd)
        }
    }
}
