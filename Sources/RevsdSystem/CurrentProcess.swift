#if canImport(Glibc)
import Glibc
#endif

/// The running process's identity, wrapped once (getpid, getuid, geteuid:
/// they cannot fail).
public enum CurrentProcess {
    /// The process id (getpid).
    public static var id: Int32 { getpid() }

    /// The real user id (getuid).
    public static var userID: UInt32 { getuid() }

    /// The effective user id (geteuid).
    public static var effectiveUserID: UInt32 { geteuid() }

    /// True when running as root (effective uid 0).
    public static var isRoot: Bool { geteuid() == 0 }
}
