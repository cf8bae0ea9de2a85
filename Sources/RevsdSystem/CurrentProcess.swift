#if canImport(Glibc)
import Glibc
#endif

/// The running process's identity (getpid, getuid, geteuid: they cannot
/// fail) and the calling thread's priority (setpriority), wrapped once.
public enum CurrentProcess {
    /// The process id (getpid).
    public static var id: Int32 { getpid() }

    /// The real user id (getuid).
    public static var userID: UInt32 { getuid() }

    /// The effective user id (geteuid).
    public static var effectiveUserID: UInt32 { geteuid() }

    /// True when running as root (effective uid 0).
    public static var isRoot: Bool { geteuid() == 0 }

    /// Lowers the calling thread's scheduling priority to `nice`. Linux keeps
    /// a nice value per thread, and setpriority(PRIO_PROCESS, 0, …) sets the
    /// caller's. Raising it back needs CAP_SYS_NICE, so a thread lowered
    /// stays lowered.
    public static func lowerThreadPriority(to nice: Int32) throws(SystemError) {
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) != 0 {
            throw SystemError("setpriority", path: "the calling thread", errno: errno)
        }
    }
}
