#if canImport(Glibc)
import Glibc
#endif
import RevsdProtocol
import RevsdSystem

/// What the web page asks of revsdd: one method per request it makes. The
/// production one (`SocketBackend`) talks to the control socket; tests give
/// a fake. Every failure is a `ControlClient.Failure`, as the client reports it.
public protocol GalleryBackend: Sendable {
    /// The control socket, for messages (503 pages).
    var socketPath: String { get }
    func status() async throws(ControlClient.Failure) -> StatusResult
    func failed(_ request: FailedRequest) async throws(ControlClient.Failure) -> FailedResult
    func images(_ request: ImagesRequest) async throws(ControlClient.Failure) -> ImagesResult
    func image(_ request: ImageRequest) async throws(ControlClient.Failure) -> ImageResult
    func imageFile(_ request: ImageFileRequest) async throws(ControlClient.Failure) -> PassedFile
    func search(_ request: SearchRequest) async throws(ControlClient.Failure) -> SearchResult
    func similar(_ request: SimilarRequest) async throws(ControlClient.Failure) -> SimilarResult
    func train(_ request: TrainRequest) async throws(ControlClient.Failure) -> TrainResult
}

/// A file revsdd opened and passed back (`image_file`): what it is, and the
/// descriptor, owned here and closed when this is released.
public final class PassedFile: Sendable {
    public let result: ImageFileResult
    let descriptor: Int32

    /// Takes ownership of `descriptor`.
    public init(result: ImageFileResult, descriptor: Int32) {
        self.result = result
        self.descriptor = descriptor
    }

    deinit { Syscalls.close(descriptor) }

    /// The most any file is read into memory (a thumbnail is some kB, an
    /// original some MB).
    public static let readLimit = 256 << 20

    /// Its bytes: pread from 0 up to the size revsdd reported (never more),
    /// shorter when the file ends first. Blocking: call it off the event loop.
    public func readAll() throws(SystemError) -> [UInt8] {
        let name = "image \(result.imageID) (\(result.kind.rawValue))"
        let size = min(max(result.size, 0), Self.readLimit)
        guard result.size <= Self.readLimit else { throw SystemError("read (over \(Self.readLimit) bytes)", path: name, errno: EFBIG) }
        var out = [UInt8]()
        out.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: min(max(size, 1), 1 << 20))
        while out.count < size {
            let want = min(chunk.count, size - out.count)
            if chunk.count != want { chunk = [UInt8](repeating: 0, count: want) }
            let n = try Syscalls.pread(descriptor, into: &chunk, at: out.count, path: name)
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return out
    }
}
