#if canImport(Glibc)
import Glibc
#endif
import CSocket
import Foundation
import Logging

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
public final class ControlServer: @unchecked Sendable {
    public typealias Handler = @Sendable (_ request: [String: Any], _ fds: inout [Int32], _ peer: Peer) throws(ControlError) -> [String: Any]

    public struct Peer: Sendable { public let pid: Int32; public let uid: UInt32; public let gid: UInt32 }

    public static let protocolVersion = 1
    public static let maxLineBytes = 1 << 20
    public static let maxConnections = 256
    public static let idleTimeout: TimeInterval = 30
    public static let sendTimeout: TimeInterval = 10

    let listenFD: Int32
    let handler: Handler
    let logger: Logger
    let lock = NSLock()
    var connections = 0
    var stopped = false
    var acceptThread: Thread?

    /// Serves on an already listening socket (from socket activation or `bind`).
    public init(listening fd: Int32, logger: Logger, handler: @escaping Handler) {
        listenFD = fd
        self.logger = logger
        self.handler = handler
    }

    /// Creates, binds and listens on `path` (mode 0660, optional group),
    /// replacing a stale socket file but never a live daemon's.
    public static func bind(path: String, group: String?) throws(SystemError) -> Int32 {
        try Syscalls.makeDirectories((path as NSString).deletingLastPathComponent, mode: 0o755)
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw SystemError("bind (not a socket)", path: path, errno: EEXIST) }
            if let probe = try? connect(path: path, timeout: 1) { close(probe); throw SystemError("bind (another revsdd is listening)", path: path, errno: EADDRINUSE) }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: path, errno: errno) }
        var addr = try Self.address(path)
        let old = umask(0o117)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        umask(old)
        guard r == 0 else { let e = errno; close(fd); throw SystemError("bind", path: path, errno: e) }
        chmod(path, 0o660)
        if let group {
            guard let g = getgrnam(group) else { close(fd); throw SystemError("chown (unknown group \(group))", path: path, errno: EINVAL) }
            if chown(path, UInt32.max, g.pointee.gr_gid) != 0 { let e = errno; close(fd); throw SystemError("chown", path: path, errno: e) }
        }
        guard listen(fd, 128) == 0 else { let e = errno; close(fd); throw SystemError("listen", path: path, errno: e) }
        return fd
    }

    static func address(_ path: String) throws(SystemError) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw SystemError("bind (path too long)", path: path, errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return addr
    }

    /// A connected client socket (with send/receive timeouts).
    public static func connect(path: String, timeout: TimeInterval) throws(SystemError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: path, errno: errno) }
        var addr = try address(path)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard r == 0 else { let e = errno; close(fd); throw SystemError("connect", path: path, errno: e) }
        setTimeouts(fd, receive: timeout, send: timeout)
        return fd
    }

    static func setTimeouts(_ fd: Int32, receive: TimeInterval, send: TimeInterval) {
        for (option, t) in [(SO_RCVTIMEO, receive), (SO_SNDTIMEO, send)] {
            var tv = timeval(tv_sec: Int(t), tv_usec: Int((t - t.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    public func start() {
        let t = Thread { [self] in acceptLoop() }
        t.name = "revsd-control"
        acceptThread = t
        t.start()
    }

    /// Stops accepting; connections in progress finish their current request.
    public func stop() {
        lock.withLock { stopped = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
    }

    func acceptLoop() {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if lock.withLock({ stopped }) { return }
                if errno == EMFILE || errno == ENFILE { Thread.sleep(forTimeInterval: 0.1); continue }
                logger.error("accept failed", metadata: ["errno": "\(errno)"])
                return
            }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            let admitted = lock.withLock { () -> Bool in
                guard connections < Self.maxConnections, !stopped else { return false }
                connections += 1
                return true
            }
            guard admitted else {
                Self.setTimeouts(c, receive: 1, send: 1)
                Self.send(c, Self.errorLine(id: nil, ControlError(.busy, "revsdd is serving \(Self.maxConnections) connections; try again")))
                close(c)
                continue
            }
            let t = Thread { [self] in
                serve(c)
                close(c)
                lock.withLock { connections -= 1 }
            }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Reads lines (with any descriptors that ride along) and answers each.
    func serve(_ c: Int32) {
        Self.setTimeouts(c, receive: Self.idleTimeout, send: Self.sendTimeout)
        var pid: Int32 = 0, uid: UInt32 = 0, gid: UInt32 = 0
        guard revsd_peer_credentials(c, &pid, &uid, &gid) == 0 else { return }
        let peer = Peer(pid: pid, uid: uid, gid: gid)
        var buffer: [UInt8] = []
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            // Answer every complete line already buffered.
            while let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                guard Self.send(c, respond(line, &fds, peer)) else { return }
            }
            if buffer.count > Self.maxLineBytes {
                _ = Self.send(c, Self.errorLine(id: nil, ControlError(.tooLarge, "request longer than \(Self.maxLineBytes) bytes")))
                return
            }
            var got: [Int32] = [0, 0, 0, 0]
            var n: Int32 = 0
            let r = chunk.withUnsafeMutableBytes { revsd_recv_with_fds(c, $0.baseAddress, $0.count, &got, &n) }
            if n > 0 { fds += got[0..<Int(n)] }
            if r <= 0 { return }   // closed, idle timeout or error: the client is gone
            buffer += chunk[0..<r]
        }
    }

    func respond(_ line: [UInt8], _ fds: inout [Int32], _ peer: Peer) -> Data {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)), let request = object as? [String: Any] else {
            return Self.errorLine(id: nil, ControlError(.badRequest, "not a JSON object on one line"))
        }
        let id = request["id"]
        if let v = request["v"] as? Int, v != Self.protocolVersion {
            return Self.errorLine(id: id, ControlError(.unsupportedVersion, "protocol version \(v) is not supported (this daemon speaks \(Self.protocolVersion))"))
        }
        do {
            let result = try handler(request, &fds, peer)
            var response: [String: Any] = ["v": Self.protocolVersion, "ok": true, "result": result]
            if let id { response["id"] = id }
            return Self.line(response)
        } catch {
            return Self.errorLine(id: id, error)
        }
    }

    static func line(_ object: [String: Any]) -> Data {
        var data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data(#"{"ok":false,"v":1,"error":{"code":"internal","message":"response could not be encoded"}}"#.utf8)
        data.append(0x0A)
        return data
    }

    static func errorLine(id: Any?, _ e: ControlError) -> Data {
        var o: [String: Any] = ["v": protocolVersion, "ok": false, "error": e.json]
        if let id { o["id"] = id }
        return line(o)
    }

    @discardableResult
    static func send(_ c: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.send(c, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
    }
}
