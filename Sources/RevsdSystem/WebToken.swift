#if canImport(Glibc)
import Glibc
#endif

/// The bearer token of the web gallery (revsd-web): 32 random bytes as 64
/// lowercase hex digits in a file (`[web] token_file`, default
/// `STATE/web-token`; the system install's is /etc/revsd/web-token, made by
/// `make install`), mode 0640 so that its group (`revsd`: revsd-web,
/// `revsdctl web`) can read it. revsdd creates it at start when it is
/// missing (under its state directory lock, so no two daemons race) and
/// never rewrites it: rotating it is deleting the file and restarting revsdd.
public enum WebToken {
    public static let fileName = "web-token"
    public static let mode: mode_t = 0o640
    /// Random bytes in a token (64 hex digits).
    public static let bytes = 32

    public static func path(stateDirectory: String) -> String { stateDirectory + "/" + fileName }

    /// Why the token could not be read.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case unreadable(SystemError)
        case malformed(path: String)

        public var description: String {
            switch self {
            case .unreadable(let e) where e.errno == ENOENT: return "\(e.path): no such file; start revsdd once to create it"
            case .unreadable(let e) where e.errno == EACCES:
                return "\(e.path): permission denied; join group revsd (sudo usermod -aG revsd $USER, then log in again)"
            case .unreadable(let e): return "\(e.path): cannot read the web token: \(e.reason)"
            case .malformed(let p): return "\(p): not a web token (64 hex digits expected); remove it and restart revsdd to make a new one"
            }
        }
    }

    /// The token in `STATE/web-token`.
    public static func read(stateDirectory: String) throws(Failure) -> String { try read(path: path(stateDirectory: stateDirectory)) }

    /// The token, from the file at `p` (a trailing newline is allowed).
    public static func read(path p: String) throws(Failure) -> String {
        let bytes: [UInt8]
        do { bytes = try Syscalls.readFile(p, limit: 4096) } catch { throw .unreadable(error) }
        let text = String(decoding: bytes, as: UTF8.self)
        let token = text.hasSuffix("\n") ? String(text.dropLast()) : text
        guard isWellFormed(token) else { throw .malformed(path: p) }
        return token
    }

    /// The token, created first when there is none (see the type's comment).
    /// A file that is there but malformed is an error, not replaced.
    @discardableResult
    public static func ensure(stateDirectory: String) throws -> String { try ensure(path: path(stateDirectory: stateDirectory)) }

    /// `ensure` for the token file at `p`.
    @discardableResult
    public static func ensure(path p: String) throws -> String {
        do { return try read(path: p) } catch {
            guard case .unreadable(let e) = error, e.errno == ENOENT else { throw error }
        }
        let token = generate()
        try Array((token + "\n").utf8).withUnsafeBytes { try AtomicFile.write($0, to: p, mode: mode) }
        try Syscalls.chmod(p, mode: mode)
        return token
    }

    /// 32 bytes from the system's CSPRNG (getrandom(2), through
    /// SystemRandomNumberGenerator), as hex.
    static func generate() -> String {
        var g = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for _ in 0..<bytes {
            let b = UInt8.random(in: .min ... .max, using: &g)
            out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == bytes * 2 && token.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
