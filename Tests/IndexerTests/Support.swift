import CZlib
import Foundation
import XCTest
import Models
import RevsdSystem

/// A temporary directory, removed with its content when the test ends.
final class TemporaryDirectory {
    let url: URL
    init() {
        url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("revsd-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    @discardableResult
    func write(_ name: String, _ data: Data) -> String {
        let p = path(name)
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! data.write(to: URL(fileURLWithPath: p))
        return p
    }
    @discardableResult
    func write(_ name: String, _ text: String) -> String { write(name, Data(text.utf8)) }
}

/// Writes ZIP archives (stored or deflated entries) as wheels are.
enum ZipWriter {
    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var s = z_stream()
        precondition(revsd_deflate_init_raw(&s, 6) == Z_OK)
        defer { deflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&s, UInt(data.count))) + 64)
        var input = data
        let produced: Int = input.withUnsafeMutableBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                s.next_in = inp.baseAddress; s.avail_in = UInt32(inp.count)
                s.next_out = o.baseAddress; s.avail_out = UInt32(o.count)
                precondition(CZlib.deflate(&s, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(s.avail_out)
            }
        }
        return Array(out[0..<produced])
    }

    static func archive(_ entries: [(String, [UInt8])], deflated: Bool = true) -> Data {
        var out = [UInt8](), central = [UInt8]()
        func u16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)] }
        func u32(_ v: UInt32, _ a: inout [UInt8]) { a += (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xff) } }
        for (name, content) in entries {
            let crc = UInt32(content.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
            let body = deflated ? deflate(content) : content
            let offset = UInt32(out.count)
            let nameBytes = Array(name.utf8)
            u32(0x0403_4b50, &out); u16(20, &out); u16(0, &out); u16(deflated ? 8 : 0, &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(UInt32(body.count), &out); u32(UInt32(content.count), &out)
            u16(nameBytes.count, &out); u16(0, &out); out += nameBytes; out += body
            u32(0x0201_4b50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(deflated ? 8 : 0, &central)
            u16(0, &central); u16(0, &central); u32(crc, &central); u32(UInt32(body.count), &central); u32(UInt32(content.count), &central)
            u16(nameBytes.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central); central += nameBytes
        }
        let cdOffset = out.count
        out += central
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(UInt32(central.count), &out); u32(UInt32(cdOffset), &out); u16(0, &out)
        return Data(out)
    }
}

func sha256Hex(_ data: Data) -> String { data.withUnsafeBytes { SHA256.hex($0) } }

/// The models directory the tests use: $REVSD_MODELS, else the default.
/// Tests that need the real model fail (never skip) when it is absent.
func installedPromptEncoderFolder(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    let store = ModelStore.resolve()
    do {
        return try store.promptEncoderFolder()
    } catch {
        XCTFail("\(error) — the test suite needs the real model (the README's test command fetches it)", file: file, line: line)
        throw error
    }
}

/// Where `swift build` put the executables of this package.
var productsDirectory: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs one of this package's executables; waits for it to exit.
func runProduct(_ name: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) throws -> ProcessResult {
    let p = Process()
    p.executableURL = productsDirectory.appendingPathComponent(name)
    p.arguments = arguments
    if let environment {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out; p.standardError = err; p.standardInput = inp
    try p.run()
    if let stdin { inp.fileHandleForWriting.write(stdin) }
    try inp.fileHandleForWriting.close()
    // Read both pipes before waiting, so a full pipe never blocks the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return ProcessResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}
