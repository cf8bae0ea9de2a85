#if canImport(Glibc)
import Glibc
#endif

/// Whether something accepts TCP connections at a numeric address and port
/// (`revsdctl web` says when the page is not running). A blocking connect
/// with send/receive timeouts; the connection is closed at once.
public enum LoopbackProbe {
    public static func answers(host: String, port: UInt16, timeoutSeconds: Int = 1) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        let family: Int32
        if inet_pton(AF_INET, host, &v4) == 1 { family = AF_INET } else if inet_pton(AF_INET6, host, &v6) == 1 { family = AF_INET6 } else { return false }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Syscalls.close(fd) }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var r: Int32
        repeat {
            if family == AF_INET {
                var a = sockaddr_in()
                a.sin_family = sa_family_t(AF_INET); a.sin_port = port.bigEndian; a.sin_addr = v4
                r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            } else {
                var a = sockaddr_in6()
                a.sin6_family = sa_family_t(AF_INET6); a.sin6_port = port.bigEndian; a.sin6_addr = v6
                r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            }
        } while r != 0 && errno == EINTR
        return r == 0
    }
}
