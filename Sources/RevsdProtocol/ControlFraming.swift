import Foundation

/// The control socket's framing (docs/PROTOCOL.md): one JSON object per
/// line, at most `maxLineBytes` a line. Requests are `{"v", "id"?, "op",
/// fields…}`; responses `{"v", "id"?, "ok", "result" | "error"}`, with
/// sorted keys.
public enum ControlFraming {
    public static let protocolVersion = 1
    public static let maxLineBytes = 1 << 20

    /// Sorted keys, slashes as they are: what revsdd sends and revsdctl prints.
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// `value` as one line of JSON, ended by a newline.
    public static func line(_ value: some Encodable) throws -> [UInt8] {
        var data = try encoder().encode(value)
        data.append(0x0A)
        return [UInt8](data)
    }

    // MARK: Requests

    /// The line a client sends for `request`.
    public static func requestLine<R: ControlRequest>(_ request: R, id: JSONValue? = nil) throws -> [UInt8] {
        try line(RequestEnvelope(id: id, request: request))
    }

    /// A request line as the daemon reads it: the `id` to echo (when the line
    /// is an object that has one) and the typed request, or the error to answer.
    public static func decodeRequest(_ line: [UInt8]) -> IncomingRequest {
        do { return try JSONDecoder().decode(IncomingRequest.self, from: Data(line)) } catch {
            return IncomingRequest(id: nil, request: .failure(ControlError(.badRequest, "not a JSON object on one line")))
        }
    }

    // MARK: Responses

    /// `{"v", "id", "ok": true, "result"}`; an internal error line when the
    /// result cannot be encoded (a NaN, say).
    public static func responseLine(id: JSONValue?, result: some ControlResult) -> [UInt8] {
        do { return try line(ControlResponse(id: id, outcome: .success(result))) } catch {
            return errorLine(id: id, ControlError(.internalError, "the response could not be encoded: \(error)"))
        }
    }

    /// `{"v", "id", "ok": false, "error": {"code", "message"}}`.
    public static func errorLine(id: JSONValue?, _ error: ControlError) -> [UInt8] {
        // Any result type will do: a failure carries none.
        (try? line(ControlResponse<WatchesResult>(id: id, outcome: .failure(error))))
            ?? Array(#"{"error":{"code":"internal","message":"response could not be encoded"},"ok":false,"v":1}"#.utf8 + [0x0A])
    }

    /// A response line as the client reads it.
    public static func decodeResponse<Value: ControlResult>(_ line: [UInt8], as: Value.Type) throws -> ControlResponse<Value> {
        try JSONDecoder().decode(ControlResponse<Value>.self, from: Data(line))
    }
}

/// What the daemon makes of one request line.
public struct IncomingRequest: Decodable, Sendable, Equatable {
    /// The client's `id`, echoed in the answer (any JSON value, null included).
    public var id: JSONValue?
    public var request: Result<Request, ControlError>

    public init(id: JSONValue?, request: Result<Request, ControlError>) { self.id = id; self.request = request }

    enum CodingKeys: String, CodingKey { case id, v }

    /// Fails only when the line is not a JSON object; everything wrong inside
    /// it is a `ControlError` answered with the id.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = c.contains(.id) ? try c.decode(JSONValue.self, forKey: .id) : nil
        do {
            let v: Int? = try c.field(.v)
            if let v, v != ControlFraming.protocolVersion {
                throw ControlError(.unsupportedVersion, "protocol version \(v) is not supported (this daemon speaks \(ControlFraming.protocolVersion))")
            }
            request = .success(try Request(from: decoder))
        } catch let e as ControlError {
            request = .failure(e)
        } catch {
            request = .failure(ControlError(.badRequest, "\(error)"))
        }
    }
}

/// A request on the wire: version, operation, id, then the request's own fields.
struct RequestEnvelope<R: ControlRequest>: Encodable {
    var id: JSONValue?
    var request: R

    enum CodingKeys: String, CodingKey { case v, op, id }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ControlFraming.protocolVersion, forKey: .v)
        try c.encode(R.operation, forKey: .op)
        try c.encodeIfPresent(id, forKey: .id)
        try request.encode(to: encoder)
    }
}

/// A response on the wire.
public struct ControlResponse<Value: ControlResult>: Codable, Sendable, Equatable {
    public var id: JSONValue?
    public var outcome: Result<Value, ControlError>

    public init(id: JSONValue?, outcome: Result<Value, ControlError>) { self.id = id; self.outcome = outcome }

    enum CodingKeys: String, CodingKey { case v, id, ok, result, error }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = c.contains(.id) ? try c.decode(JSONValue.self, forKey: .id) : nil
        outcome = try c.decode(Bool.self, forKey: .ok)
            ? .success(try c.decode(Value.self, forKey: .result))
            : .failure(try c.decode(ControlError.self, forKey: .error))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ControlFraming.protocolVersion, forKey: .v)
        try c.encodeIfPresent(id, forKey: .id)
        switch outcome {
        case let .success(result):
            try c.encode(true, forKey: .ok)
            try c.encode(result, forKey: .result)
        case let .failure(error):
            try c.encode(false, forKey: .ok)
            try c.encode(error, forKey: .error)
        }
    }
}
