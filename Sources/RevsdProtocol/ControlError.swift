/// The only error that crosses the control socket: a stable code for
/// scripts and one line for people.
public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
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

    public var json: [String: Any] { ["code": code.rawValue, "message": message] }
}
