#if canImport(Glibc)
import Glibc
#endif
import Crypto
import RevsdSystem

/// The secret every request must carry (`?token=` once, then the cookie):
/// the 64 hex characters revsdd writes to its web-token file. The CSRF
/// token of forms is derived from it (HMAC), so it needs no state either.
public struct SessionToken: Sendable, Equatable {
    public let hex: String

    public static let cookieName = "revsd_token"

    /// A token of exactly 64 hex characters; nil for anything else.
    public init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) })
        else { return nil }
        self.hex = hex.lowercased()
    }

    /// Reads the token file revsdd created (WebToken).
    public static func load(path: String) throws(GalleryConfigError) -> SessionToken {
        let hex: String
        do { hex = try WebToken.read(path: path) } catch { throw GalleryConfigError(error.description) }
        guard let token = SessionToken(hex: hex) else { throw GalleryConfigError(WebToken.Failure.malformed(path: path).description) }
        return token
    }

    /// Whether `candidate` is this token, in time independent of where they differ.
    public func matches(_ candidate: some StringProtocol) -> Bool {
        Self.constantTimeEqual(Array(candidate.utf8), Array(hex.utf8))
    }

    /// The CSRF token of this session's forms: HMAC-SHA256 of a fixed label under the token.
    public var csrf: String {
        let mac = HMAC<Crypto.SHA256>.authenticationCode(for: Array("revsd-web csrf v1".utf8), using: SymmetricKey(data: Array(hex.utf8)))
        return mac.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// Whether `candidate` is this session's CSRF token (constant time).
    public func matchesCSRF(_ candidate: some StringProtocol) -> Bool {
        Self.constantTimeEqual(Array(candidate.utf8), Array(csrf.utf8))
    }

    /// Byte equality whose time depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count { diff |= (i < a.count ? a[i] : 0) ^ b[i] }
        return diff == 0
    }
}

/// A setting of revsd-web that cannot be used: one line for the user.
public struct GalleryConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
