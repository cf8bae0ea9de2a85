#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on which path, and errno.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let errno: Int32

    public init(_ call: String, path: String, errno: Int32) {
        self.call = call; self.path = path; self.errno = errno
    }

    public var description: String {
        "\(path): \(call) failed: \(String(cString: strerror(errno)))"
    }
}
