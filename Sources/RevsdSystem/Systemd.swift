#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import Foundation
import Logging

/// systemd integration through libsystemd: readiness and status
/// notifications, the watchdog, socket activation, and the journal.
public enum Systemd {
    /// Sends a notification ("READY=1", "STATUS=…", "WATCHDOG=1", "STOPPING=1").
    /// A no-op outside systemd (no $NOTIFY_SOCKET).
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        revsd_sd_notify(state) > 0
    }

    /// Half of WatchdogSec= when the service manager expects pings, else nil.
    public static var watchdogPingInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec / 2))
    }

    /// The listening Unix stream socket passed by socket activation, if any.
    public static func activatedSocket() -> Int32? {
        let n = sd_listen_fds(1)
        guard n >= 1 else { return nil }
        let fd = Int32(SD_LISTEN_FDS_START)
        guard sd_is_socket_unix(fd, 1 /* SOCK_STREAM */, 1, nil, 0) > 0 else { return nil }
        return fd
    }

    /// True when stderr goes to the journal (systemd sets $JOURNAL_STREAM).
    public static var stderrIsJournal: Bool {
        guard let v = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return v == "\(st.st_dev):\(st.st_ino)"
    }
}

/// A swift-log handler writing structured entries to the journal:
/// MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, and one REVSD_<KEY> field per
/// metadata entry (so `journalctl REVSD_PATH=…` finds a file's history).
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    public func log(event: LogEvent) {
        var fields = ["MESSAGE=\(event.message)", "PRIORITY=\(Self.priority(event.level))", "SYSLOG_IDENTIFIER=revsdd",
                      "CODE_FILE=\(event.file)", "CODE_LINE=\(event.line)", "CODE_FUNC=\(event.function)"]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            let key = "REVSD_" + k.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            fields.append("\(String(key))=\(v)")
        }
        let cStrings = fields.map { strdup($0)! }
        defer { cStrings.forEach { free($0) } }
        var iov = cStrings.map { iovec(iov_base: UnsafeMutableRawPointer($0), iov_len: strlen($0)) }
        _ = sd_journal_sendv(&iov, Int32(iov.count))
    }
}

/// Plain lines on stderr ("revsdd: warning: message key=value").
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public init() {}
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    public func log(event: LogEvent) {
        let extra = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).sorted { $0.key < $1.key }
            .map { " \($0.key)=\($0.value)" }.joined()
        FileHandle.standardError.write(Data("revsdd: \(event.level): \(event.message)\(extra)\n".utf8))
    }
}
