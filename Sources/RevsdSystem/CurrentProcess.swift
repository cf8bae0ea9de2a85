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

    /// Runs this same executable again in place of the current process
    /// (execv of /proc/self/exe with the same arguments: the same pid, open
    /// descriptors without FD_CLOEXEC, systemd's NOTIFY_SOCKET), with
    /// `environment` added. Returns only if it could not: the error says why,
    /// and the process goes on as it was (the variables stay set).
    public static func restart(adding environment: [String: String]) -> SystemError {
        for (name, value) in environment { setenv(name, value, 1) }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        return SystemError("execv", path: "/proc/self/exe", errno: errno)
    }

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
