#if canImport(Glibc)
import Glibc
#endif
import RevsdSystem
import Foundation

/// revsdctl's side of the control socket: one request, one response line.
public struct ControlClient: Sendable {
    public let socketPath: String
    public let timeout: TimeInterval

    public init(socketPath: String, timeout: TimeInterval = 600) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    public enum Failure: Error, CustomStringConvertible {
        case notRunning(String, String)
        case io(String)
        case daemon(ControlError)
        public var description: String {
            switch self {
            case let .notRunning(path, why): return "\(path): revsdd is not running (\(why)); start it with `systemctl start revsdd` or `revsdd`"
            case let .io(message): return message
            case let .daemon(e): return e.message
            }
        }
    }

    /// Sends `request` (and `fd` with it, by SCM_RIGHTS) and returns `result`.
    public func call(_ request: [String: Any], passing fd: Int32? = nil) throws(Failure) -> [String: Any] {
        let c: UnixSocket
        do { c = try UnixSocket.connect(path: socketPath, timeout: timeout) } catch {
            throw .notRunning(socketPath, error.reason)
        }
        defer { c.close() }
        var body = request
        body["v"] = ControlFraming.protocolVersion
        do { try c.send(ControlFraming.line(body), passing: fd) } catch {
            throw .io("\(socketPath): cannot send the request: \(error.reason)")
        }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var ignored: [Int32] = []
        while !reply.contains(0x0A) {
            guard let n = try? c.receive(into: &chunk, descriptors: &ignored), n > 0 else {
                throw .io("\(socketPath): revsdd closed the connection without an answer")
            }
            reply += chunk[0..<n]
            if reply.count > 256 << 20 { throw .io("\(socketPath): answer too large") }
        }
        for fd in ignored { Syscalls.close(fd) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply[..<reply.firstIndex(of: 0x0A)!])) as? [String: Any] else {
            throw .io("\(socketPath): unreadable answer")
        }
        if object["ok"] as? Bool == true { return object["result"] as? [String: Any] ?? [:] }
        let e = object["error"] as? [String: Any]
        throw .daemon(ControlError(ControlError.Code(rawValue: e?["code"] as? String ?? "") ?? .internalError,
                                   e?["message"] as? String ?? "revsdd reported an error"))
    }
}
