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
        /// The socket is there but this user may not open it (EACCES).
        case permissionDenied(String)
        case io(String)
        case daemon(ControlError)
        public var description: String {
            switch self {
            case let .notRunning(path, why): return "\(path): revsdd is not running (\(why)); start it with `systemctl start revsdd` or `revsdd`"
            case let .permissionDenied(path):
                return "permission denied on the socket \(path): join group revsd (sudo usermod -aG revsd $USER, then log in again) or run revsdctl as root or as the daemon's user"
            case let .io(message): return message
            case let .daemon(e): return e.message
            }
        }

        /// What a failed connect(2) means to the user: EACCES (on the
        /// socket or a folder above it) is a permission to ask for, not a
        /// daemon to start; anything else (ENOENT, ECONNREFUSED…) is a
        /// daemon that is not running.
        public static func connecting(to path: String, _ error: SystemError) -> Failure {
            error.errno == EACCES || error.errno == EPERM ? .permissionDenied(path) : .notRunning(path, error.reason)
        }
    }

    /// Sends `request` (and `fd` with it, by SCM_RIGHTS) and returns its result.
    public func call<R: ControlRequest>(_ request: R, passing fd: Int32? = nil) throws(Failure) -> R.Result {
        let (reply, received) = try send(request, passing: fd)
        for fd in received { Syscalls.close(fd) }
        return try Self.result(of: reply, for: request, socketPath)
    }

    /// Sends `request` and returns its result with the descriptor that came
    /// back with it (`image_file`), which the caller then owns; throws when
    /// the daemon answered without one.
    public func callReceiving<R: ControlRequest>(_ request: R) throws(Failure) -> (result: R.Result, descriptor: Int32) {
        let (reply, received) = try send(request, passing: nil)
        for fd in received.dropFirst() { Syscalls.close(fd) }
        let result: R.Result
        do { result = try Self.result(of: reply, for: request, socketPath) } catch {
            if let fd = received.first { Syscalls.close(fd) }
            throw error
        }
        guard let fd = received.first else { throw .io("\(socketPath): revsdd answered '\(R.operation.rawValue)' without a descriptor") }
        return (result, fd)
    }

    func send<R: ControlRequest>(_ request: R, passing fd: Int32?) throws(Failure) -> (line: [UInt8], descriptors: [Int32]) {
        let line: [UInt8]
        do { line = try ControlFraming.requestLine(request) } catch {
            throw .io("cannot encode the '\(R.operation.rawValue)' request: \(error)")
        }
        return try exchangeReceiving(line, passing: fd)
    }

    static func result<R: ControlRequest>(of reply: [UInt8], for request: R, _ socketPath: String) throws(Failure) -> R.Result {
        let response: ControlResponse<R.Result>
        do { response = try ControlFraming.decodeResponse(reply, as: R.Result.self) } catch {
            throw .io("\(socketPath): unreadable answer to '\(R.operation.rawValue)': \(error)")
        }
        switch response.outcome {
        case let .success(result): return result
        case let .failure(e): throw .daemon(e)
        }
    }

    /// Sends one request line (ended by a newline) and returns the answer
    /// line, without its newline: for clients that build their own JSON.
    public func exchange(_ line: [UInt8], passing fd: Int32? = nil) throws(Failure) -> [UInt8] {
        let (reply, received) = try exchangeReceiving(line, passing: fd)
        for fd in received { Syscalls.close(fd) }
        return reply
    }

    /// `exchange`, keeping the descriptors that came with the answer (the caller closes them).
    func exchangeReceiving(_ line: [UInt8], passing fd: Int32?) throws(Failure) -> (line: [UInt8], descriptors: [Int32]) {
        let c: UnixSocket
        do { c = try UnixSocket.connect(path: socketPath, timeout: timeout) } catch {
            throw .connecting(to: socketPath, error)
        }
        defer { c.close() }
        do { try c.send(line, passing: fd) } catch {
            throw .io("\(socketPath): cannot send the request: \(error.reason)")
        }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var received: [Int32] = []
        while true {
            if let nl = reply.firstIndex(of: 0x0A) { return (Array(reply[..<nl]), received) }
            guard let n = try? c.receive(into: &chunk, descriptors: &received), n > 0 else {
                for fd in received { Syscalls.close(fd) }
                throw .io("\(socketPath): revsdd closed the connection without an answer")
            }
            reply += chunk[0..<n]
            if reply.count > 256 << 20 {
                for fd in received { Syscalls.close(fd) }
                throw .io("\(socketPath): answer too large")
            }
        }
    }
}
