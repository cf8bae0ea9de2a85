import Foundation
import Hummingbird

/// Where revsd-web listens: `HOST:PORT` (`[::1]:PORT` for IPv6) or
/// `unix:/path` (behind systemd-socket-proxyd).
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    public static let defaultListen = "127.0.0.1:8277"

    public static func parse(_ text: String) throws(GalleryConfigError) -> ListenAddress {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") else { throw GalleryConfigError("listen '\(text)': a unix socket needs an absolute path (unix:/run/revsd/web.sock)") }
            return .unix(path: path)
        }
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw GalleryConfigError("listen '\(text)': expected [IPV6]:PORT, HOST:PORT or unix:/path")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw GalleryConfigError("listen '\(text)': expected HOST:PORT, [IPV6]:PORT or unix:/path")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw GalleryConfigError("listen '\(text)': no host (127.0.0.1:8277 listens on loopback)") }
        guard let p = Int(port), (0...65535).contains(p), port.allSatisfy(\.isASCII) else {
            throw GalleryConfigError("listen '\(text)': the port must be a number from 0 to 65535")
        }
        return .tcp(host: String(host), port: p)
    }

    /// Whether only this machine can connect: a unix socket, localhost, 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case .unix: true
        case let .tcp(host, _): Self.isLoopbackHost(host)
        }
    }

    static func isLoopbackHost(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    public var bindAddress: BindAddress {
        switch self {
        case let .tcp(host, port): .hostname(host, port: port)
        case let .unix(path): .unixDomainSocket(path: path)
        }
    }

    /// The page's address once bound on `port` (the real one when 0 was asked).
    public func url(boundPort port: Int?, token: SessionToken) -> String {
        switch self {
        case let .unix(path): return "unix:\(path)"
        case let .tcp(host, asked):
            let h = host.contains(":") ? "[\(host)]" : host
            return "http://\(h):\(port ?? asked)/?token=\(token.hex)"
        }
    }

    public var description: String {
        switch self {
        case let .tcp(host, port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case let .unix(path): "unix:\(path)"
        }
    }
}

/// The `Host` header check against DNS rebinding: a page served on
/// loopback answers only to names that mean loopback.
public struct HostCheck: Sendable {
    /// Host names (lower case, without port) allowed besides the loopback ones.
    public var extraHosts: Set<String>

    public init(extraHosts: Set<String> = []) { self.extraHosts = Set(extraHosts.map { $0.lowercased() }) }

    public static let loopbackHosts: Set<String> = ["127.0.0.1", "[::1]", "localhost"]

    /// Whether `value` (a Host header: name, optional port) names an allowed host.
    public func allows(_ value: String) -> Bool {
        let v = value.lowercased()
        let name: Substring
        if v.hasPrefix("[") {
            guard let close = v.firstIndex(of: "]") else { return false }
            name = v[...close]
            let rest = v[v.index(after: close)...]
            guard rest.isEmpty || Self.isPort(rest) else { return false }
        } else if let colon = v.firstIndex(of: ":") {
            name = v[..<colon]
            guard Self.isPort(v[colon...]) else { return false }
        } else {
            name = v[...]
        }
        let host = String(name)
        if Self.loopbackHosts.contains(host) { return true }
        return extraHosts.contains(host) || extraHosts.contains(host.trimmingCharacters(in: ["[", "]"]))
    }

    /// ":" and 1–5 digits.
    static func isPort(_ s: Substring) -> Bool {
        s.first == ":" && (2...6).contains(s.count) && s.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }
    }
}
