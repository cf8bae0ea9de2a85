import Foundation
import XCTest
@testable import RevsdProtocol

/// What the protocol's tests share: a request line as the daemon decodes
/// it, the error it is answered with, and round trips over the wire.
extension XCTestCase {
    /// The request as the daemon decodes the line `object` (with its id).
    func decode(_ object: [String: Any]) throws -> IncomingRequest {
        ControlFraming.decodeRequest([UInt8](try JSONSerialization.data(withJSONObject: object)))
    }

    /// The error `object` is answered with, or a failure when it decodes.
    func rejection(_ object: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws -> ControlError {
        switch try decode(object).request {
        case let .success(r): XCTFail("\(object) decoded as \(r)", file: file, line: line); return ControlError(.internalError, "")
        case let .failure(e): return e
        }
    }

    func assertRoundTrip<R: ControlRequest>(_ request: R, file: StaticString = #filePath, line: UInt = #line) throws {
        let incoming = ControlFraming.decodeRequest(try ControlFraming.requestLine(request, id: .integer(42)))
        XCTAssertEqual(incoming.id, .integer(42), file: file, line: line)
        XCTAssertEqual(incoming.request, .success(request.request), "\(R.operation)", file: file, line: line)
    }

    func assertRoundTrip<V: ControlResult>(_ result: V, file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = ControlFraming.responseLine(id: .string("x"), result: result)
        let back = try ControlFraming.decodeResponse(Array(bytes.dropLast()), as: V.self)
        XCTAssertEqual(back, ControlResponse(id: .string("x"), outcome: .success(result)), file: file, line: line)
    }
}
