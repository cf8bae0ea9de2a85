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

    /// What errno says, in words ("No such file or directory").
    public var reason: String { Self.describe(errno) }

    public var description: String {
        "\(path): \(call) failed: \(reason)"
    }

    /// strerror(3), wrapped once.
    public static func describe(_ errno: Int32) -> String {
        String(cString: strerror(errno))
    }
}
