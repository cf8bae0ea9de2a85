import Foundation
import Logging
import RevsdProtocol
import RevsdSystem
import Synchronization

/// The control socket: newline-delimited JSON over a Unix stream socket
/// (docs/PROTOCOL.md).
///
/// Built on plain POSIX sockets rather than swift-nio: `caption` receives
/// the caller's open file descriptor with SCM_RIGHTS, and NIO's stream
/// channels read with read(2), which drops ancillary data (checked in
/// swift-nio 2.101), so every read here is a recvmsg(2). Each connection has
/// its own thread with receive and send timeouts and a line-length limit, so
/// a slow or silent client costs one sleeping thread for a bounded time, a
/// hostile one gets an error line, and the connection count is capped.
/// The accept loop is the ControlService's loop (`run`).
public final class ControlServer: Sendable {
    /// Answers one decoded request; `fds` holds the descriptors received on
    /// the connection (the handler takes those it uses; the others are
    /// closed when the connection ends).
    public typealias Handler = @Sendable (_ request: Request, _ fds: inout [Int32], _ peer: Peer) throws(ControlError) -> Reply

    /// A result, and a descriptor to pass back with its line (SCM_RIGHTS;
    /// `image_file`). The server closes its copy once the line is sent.
    public struct Reply: Sendable {
        public var result: any ControlResult
        public var descriptor: Int32?

        public init(_ result: any ControlResult, passing descriptor: Int32? = nil) {
            self.result = result
            self.descriptor = descriptor
        }
    }

    public typealias Peer = UnixSocket.Credentials

    public static let protocolVersion = ControlFraming.protocolVersion
    public static let maxLineBytes = ControlFraming.maxLineBytes
    public static let maxConnections = 256
    public static let idleTimeout: TimeInterval = 30
    public static let sendTimeout: TimeInterval = 10

    let listener: UnixSocket
    let handler: Handler
    let logger: Logger
    struct State {
        var connections = 0
        var stopped = false
    }
    let state = Mutex(State())

    /// Serves on an already listening socket (from socket activation or `bind`).
    public init(listening socket: UnixSocket, logger: Logger, handler: @escaping Handler) {
        listener = socket
        self.logger = logger
        self.handler = handler
    }

    /// Accepts connections on a thread of its own until graceful shutdown
    /// (then `stop`); throws when accepting fails for good.
    public func run() async throws {
        let thread = BlockingThread(name: "revsd-control") { [self] in try acceptLoop() }
        try await SupervisedLoops.run([thread]) { [self] in stop() }
    }

    /// Stops accepting; connections in progress finish their current request.
    public func stop() {
        state.withLock { $0.stopped = true }
        listener.shutdown()
    }

    func acceptLoop() throws(UnixSocket.AcceptFailure) {
        while true {
            let c: UnixSocket
            do { c = try listener.accept() } catch {
                if state.withLock({ $0.stopped }) { return }
                if case .outOfDescriptors = error { Thread.sleep(forTimeInterval: 0.1); continue }
                logger.error("accept failed", metadata: ["error": "\(error)"])
                throw error
            }
            let admitted = state.withLock { s -> Bool in
                guard s.connections < Self.maxConnections, !s.stopped else { return false }
                s.connections += 1
                return true
            }
            guard admitted else {
                c.setTimeouts(receive: 1, send: 1)
                try? c.send(Self.errorLine(id: nil, ControlError(.busy, "revsdd is serving \(Self.maxConnections) connections; try again")))
                c.close()
                continue
            }
            let t = Thread { [self] in
                serve(c)
                c.close()
                state.withLock { $0.connections -= 1 }
            }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Reads lines (with any descriptors that ride along) and answers each.
    func serve(_ c: UnixSocket) {
        c.setTimeouts(receive: Self.idleTimeout, send: Self.sendTimeout)
        guard let peer = try? c.peer() else { return }
        var buffer: [UInt8] = []
        var fds: [Int32] = []
        defer { for fd in fds { Syscalls.close(fd) } }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            // Answer every complete line already buffered.
            while let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                let (answer, descriptor) = respond(line, &fds, peer)
                defer { if let descriptor { Syscalls.close(descriptor) } }
                do { try c.send(answer, passing: descriptor) } catch { return }
            }
            if buffer.count > Self.maxLineBytes {
                try? c.send(Self.errorLine(id: nil, ControlError(.tooLarge, "request longer than \(Self.maxLineBytes) bytes")))
                return
            }
            // Closed, idle timeout or error: the client is gone.
            guard let n = try? c.receive(into: &chunk, descriptors: &fds), n > 0 else { return }
            buffer += chunk[0..<n]
        }
    }

    /// One request line in, one response line out: the line is decoded
    /// strictly into a typed request (RevsdProtocol), and anything wrong with
    /// it is answered with its error, echoing the request's `id`. The
    /// descriptor, when there is one, goes with the answer line.
    func respond(_ line: [UInt8], _ fds: inout [Int32], _ peer: Peer) -> (line: [UInt8], descriptor: Int32?) {
        let incoming = ControlFraming.decodeRequest(line)
        do throws(ControlError) {
            let reply = try handler(incoming.request.get(), &fds, peer)
            return (ControlFraming.responseLine(id: incoming.id, result: reply.result), reply.descriptor)
        } catch {
            return (Self.errorLine(id: incoming.id, error), nil)
        }
    }

    static func errorLine(id: JSONValue?, _ e: ControlError) -> [UInt8] { ControlFraming.errorLine(id: id, e) }
}
