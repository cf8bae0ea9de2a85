import Foundation
import RevsdSystem

/// One daemon per state directory: an exclusive `flock` on `STATE/revsdd.lock`,
/// taken before the index is opened or a model loaded, held (by the open
/// descriptor) until the process exits. The holder writes its pid and socket
/// into the file, so a second daemon can say which instance it ran into.
/// Two daemons on one index would each watch the folders, split the queue
/// between them and each miss the events the other consumed.
public final class StateDirectoryLock: Sendable {
    public let path: String
    let fd: Int32

    /// Why the lock was not taken.
    public enum Failure: Error, CustomStringConvertible {
        case held(path: String, holder: String)
        case system(SystemError)

        public var description: String {
            switch self {
            case let .held(path, holder):
                return "another revsdd already uses this state directory (\(holder); lock \(path)); stop it first or give this one its own --state-dir"
            case let .system(e): return "cannot lock the state directory: \(e)"
            }
        }
    }

    /// Takes the lock on `directory` (which must exist) without waiting, and
    /// records `pid` and `socket` in it.
    public init(directory: String, pid: Int32 = CurrentProcess.id, socket: String) throws(Failure) {
        let path = directory + "/revsdd.lock"
        let taken: Int32?
        do { taken = try Syscalls.tryLockFile(path) } catch { throw .system(error) }
        guard let taken else { throw .held(path: path, holder: Self.holder(at: path)) }
        do { try Syscalls.overwrite(taken, with: Array("pid \(pid)\nsocket \(socket)\n".utf8), path: path) } catch {
            Syscalls.close(taken)
            throw .system(error)
        }
        self.path = path
        self.fd = taken
    }

    deinit { Syscalls.close(fd) }

    /// "pid N, socket PATH", as the holder wrote it (or what is known of it).
    static func holder(at path: String) -> String {
        let text = (try? Syscalls.readFile(path, limit: 64 << 10)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        var pid: String?, socket: String?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("pid ") { pid = String(line.dropFirst(4)) }
            if line.hasPrefix("socket ") { socket = String(line.dropFirst(7)) }
        }
        return "pid \(pid ?? "unknown"), socket \(socket ?? "unknown")"
    }
}
