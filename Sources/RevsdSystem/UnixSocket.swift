#if canImport(Glibc)
import Glibc
#endif
import CSocket
import Foundation

/// A Unix stream socket's calls, each wrapped once: EINTR retried, errors
/// naming the call and the socket's path, descriptors passed with
/// SCM_RIGHTS, the peer identified with SO_PEERCRED. The descriptor belongs
/// to the caller (`close` it when done).
public struct UnixSocket: Sendable {
    public let fd: Int32
    /// The socket's path, for error messages.
    public let path: String

    public init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// The connected peer's process, user and group.
    public struct Credentials: Sendable, Equatable {
        public let pid: Int32
        public let uid: UInt32
        public let gid: UInt32
        public init(pid: Int32, uid: UInt32, gid: UInt32) { self.pid = pid; self.uid = uid; self.gid = gid }
    }

    static func address(_ path: String) throws(SystemError) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw SystemError("bind (path too long)", path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return addr
    }

    static func stream(_ path: String) throws(SystemError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Syscalls.failure("socket", path: path, errno: errno) }
        return fd
    }

    /// A client connected to `path`, with send and receive timeouts.
    public static func connect(path: String, timeout: TimeInterval) throws(SystemError) -> UnixSocket {
        let fd = try stream(path)
        var addr = try address(path)
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        var r: Int32
        repeat {
            r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, size) } }
        } while r != 0 && errno == EINTR
        guard r == 0 else { let e = errno; Syscalls.close(fd); throw Syscalls.failure("connect", path: path, errno: e) }
        let s = UnixSocket(fd: fd, path: path)
        s.setTimeouts(receive: timeout, send: timeout)
        return s
    }

    /// Creates, binds and listens on `path` (mode 0660, optional group),
    /// replacing a stale socket file but never a live one.
    public static func listen(path: String, group: String?, backlog: Int32 = 128) throws(SystemError) -> UnixSocket {
        try Syscalls.makeDirectories((path as NSString).deletingLastPathComponent, mode: 0o755)
        if let st = try? Syscalls.status(path, followLinks: false) {
            guard st.kind == .socket else { throw SystemError("bind (not a socket)", path: path, errno: EEXIST) }
            if let probe = try? connect(path: path, timeout: 1) {
                probe.close()
                throw SystemError("bind (another revsdd is listening)", path: path, errno: EADDRINUSE)
            }
            try? Syscalls.unlink(path)   // stale; bind says what is wrong if it stays
        }
        let fd = try stream(path)
        var addr = try address(path)
        let old = umask(0o117)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard r == 0 else { let e = errno; Syscalls.close(fd); throw Syscalls.failure("bind", path: path, errno: e) }
        guard chmod(path, 0o660) == 0 else { let e = errno; Syscalls.close(fd); throw Syscalls.failure("chmod", path: path, errno: e) }
        if let group {
            guard let g = getgrnam(group) else { Syscalls.close(fd); throw SystemError("chown (unknown group \(group))", path: path, errno: EINVAL) }
            if chown(path, UInt32.max, g.pointee.gr_gid) != 0 { let e = errno; Syscalls.close(fd); throw Syscalls.failure("chown", path: path, errno: e) }
        }
        guard Glibc.listen(fd, backlog) == 0 else { let e = errno; Syscalls.close(fd); throw Syscalls.failure("listen", path: path, errno: e) }
        return UnixSocket(fd: fd, path: path)
    }

    public func close() { Syscalls.close(fd) }

    /// Stops both directions (wakes a thread blocked in `accept` or `receive`).
    /// A socket that is not connected (ENOTCONN) has nothing to stop.
    public func shutdown() {
        if Glibc.shutdown(fd, Int32(SHUT_RDWR)) != 0 {
            let e = errno
            precondition(e != EBADF, "shutdown on \(path): \(SystemError.describe(e)) (a bug in revsd)")
        }
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO (they cannot fail on an open socket).
    public func setTimeouts(receive: TimeInterval, send: TimeInterval) {
        for (option, t) in [(SO_RCVTIMEO, receive), (SO_SNDTIMEO, send)] {
            var tv = timeval(tv_sec: Int(t), tv_usec: Int((t - t.rounded(.down)) * 1e6))
            if setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size)) != 0 {
                let e = errno
                precondition(e != EBADF && e != EFAULT, "setsockopt on \(path): \(SystemError.describe(e)) (a bug in revsd)")
            }
        }
    }

    /// What `accept` can say besides a connection.
    public enum AcceptFailure: Error, Sendable {
        /// Out of descriptors for a moment (EMFILE/ENFILE): try again shortly.
        case outOfDescriptors
        /// The socket was shut down or broke.
        case failed(SystemError)
    }

    /// The next connection (close-on-exec). Retries EINTR and ECONNABORTED.
    /// (accept4(2) is not visible to Swift without _GNU_SOURCE; revsdd does
    /// not fork between the two calls.)
    public func accept() throws(AcceptFailure) -> UnixSocket {
        while true {
            let c = Glibc.accept(fd, nil, nil)
            if c >= 0 {
                if fcntl(c, F_SETFD, FD_CLOEXEC) != 0 {
                    let e = errno
                    Syscalls.close(c)
                    throw .failed(Syscalls.failure("fcntl(FD_CLOEXEC)", path: path, errno: e))
                }
                return UnixSocket(fd: c, path: path)
            }
            let e = errno
            if e == EINTR || e == ECONNABORTED { continue }
            if e == EMFILE || e == ENFILE { throw .outOfDescriptors }
            throw .failed(Syscalls.failure("accept", path: path, errno: e))
        }
    }

    /// The peer's credentials (SO_PEERCRED).
    public func peer() throws(SystemError) -> Credentials {
        var pid: Int32 = 0, uid: UInt32 = 0, gid: UInt32 = 0
        guard revsd_peer_credentials(fd, &pid, &uid, &gid) == 0 else { throw Syscalls.failure("getsockopt(SO_PEERCRED)", path: path, errno: errno) }
        return Credentials(pid: pid, uid: uid, gid: gid)
    }

    /// Sends all of `bytes`, and `passing` (a descriptor, by SCM_RIGHTS) with the first of them.
    public func send(_ bytes: [UInt8], passing descriptor: Int32? = nil) throws(SystemError) {
        var off = 0
        if let descriptor {
            let n = bytes.withUnsafeBytes { revsd_send_with_fd(fd, $0.baseAddress, $0.count, descriptor) }
            if n < 0 { throw Syscalls.failure("sendmsg", path: path, errno: errno) }
            off = n
        }
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Glibc.send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Syscalls.failure("send", path: path, errno: errno)
            }
            off += n
        }
    }

    /// Receives up to `buffer.count` bytes and the descriptors that came with
    /// them (appended to `descriptors`, close-on-exec, at most 4 a message).
    /// Returns 0 when the peer closed the connection.
    public func receive(into buffer: inout [UInt8], descriptors: inout [Int32]) throws(SystemError) -> Int {
        var got: [Int32] = [0, 0, 0, 0]
        var n: Int32 = 0
        let r = buffer.withUnsafeMutableBytes { revsd_recv_with_fds(fd, $0.baseAddress, $0.count, &got, &n) }
        if n > 0 { descriptors += got[0..<Int(n)] }
        if r < 0 { throw Syscalls.failure("recvmsg", path: path, errno: errno) }
        return r
    }
}
