/// The only error that crosses the control socket: a stable code for
/// scripts and one line for people. On the wire: `{"code", "message"}`.
public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible, Codable {
    public enum Code: String, Sendable, Codable, CaseIterable {
        case badRequest = "bad_request"
        case tooLarge = "too_large"
        case unsupportedVersion = "unsupported_version"
        case unknownOperation = "unknown_operation"
        case notFound = "not_found"
        case forbidden
        case busy
        case unavailable
        case internalError = "internal"
    }
    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }

    public var description: String { message }

    enum CodingKeys: String, CodingKey { case code, message }

    /// A code this client does not know (a newer daemon) reads as `internal`,
    /// so the message still reaches the user.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = Code(rawValue: try c.decode(String.self, forKey: .code)) ?? .internalError
        message = try c.decode(String.self, forKey: .message)
    }
}
