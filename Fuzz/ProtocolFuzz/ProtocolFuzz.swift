import Foundation
#if REVSD_FUZZ
import CFuzzer
#endif
import RevsdProtocol

/// libFuzzer target for the control protocol's request decoder (RevsdProtocol
/// alone). The input is what a client writes on the socket: it is cut into
/// lines as the daemon's connection loop cuts it (newline-ended, blank lines
/// skipped) and each line is decoded as the daemon decodes it
/// (`ControlFraming.decodeRequest`). Then:
/// - an error is encoded as the daemon answers it (`errorLine`, echoing the id);
/// - a typed request is encoded again as a client would send it
///   (`requestLine`) and decoded a second time, which must give back the same
///   request and id: what one end writes, the other reads unchanged.
///
/// Built with `-sanitize=fuzzer -DREVSD_FUZZ` (bench/fuzz.sh) `main` runs
/// libFuzzer's driver; a plain build makes a replayer over the files named on
/// its command line.
enum ProtocolFuzz {
    static func one(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        while let nl = rest.firstIndex(of: 0x0A) {
            let line = Array(rest[..<nl])
            rest = rest[(nl + 1)...]
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            decode(line)
        }
        if !rest.isEmpty { decode(Array(rest)) }
    }

    static func decode(_ line: [UInt8]) {
        let incoming = ControlFraming.decodeRequest(line)
        switch incoming.request {
        case let .failure(error):
            let answer = ControlFraming.errorLine(id: incoming.id, error)
            precondition(answer.last == 0x0A && !answer.dropLast().contains(0x0A), "an error answer is not one line")
        case let .success(request):
            guard let again = try? requestLine(request, id: incoming.id) else {
                preconditionFailure("a decoded request could not be encoded again: \(request)")
            }
            let second = ControlFraming.decodeRequest(again)
            precondition(second == incoming, "round trip changed the request:\n  \(incoming)\n  \(second)\n  line \(String(decoding: again, as: UTF8.self))")
        }
    }

    /// The line a client would send for a request the daemon decoded.
    static func requestLine(_ request: Request, id: JSONValue?) throws -> [UInt8] {
        switch request {
        case let .status(r): try ControlFraming.requestLine(r, id: id)
        case let .search(r): try ControlFraming.requestLine(r, id: id)
        case let .similar(r): try ControlFraming.requestLine(r, id: id)
        case let .caption(r): try ControlFraming.requestLine(r, id: id)
        case let .watchAdd(r): try ControlFraming.requestLine(r, id: id)
        case let .watchRemove(r): try ControlFraming.requestLine(r, id: id)
        case let .watchList(r): try ControlFraming.requestLine(r, id: id)
        case let .reindex(r): try ControlFraming.requestLine(r, id: id)
        case let .train(r): try ControlFraming.requestLine(r, id: id)
        case let .promptsImport(r): try ControlFraming.requestLine(r, id: id)
        case let .evalAdd(r): try ControlFraming.requestLine(r, id: id)
        case let .evalRun(r): try ControlFraming.requestLine(r, id: id)
        case let .failed(r): try ControlFraming.requestLine(r, id: id)
        case let .images(r): try ControlFraming.requestLine(r, id: id)
        case let .image(r): try ControlFraming.requestLine(r, id: id)
        case let .imageFile(r): try ControlFraming.requestLine(r, id: id)
        }
    }
}

/// `main`: libFuzzer's driver under `-DREVSD_FUZZ`, else the replayer.
@main
enum ProtocolFuzzMain {
    static func main() {
        #if REVSD_FUZZ
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            ProtocolFuzz.one(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        })
        #else
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty { print("usage: ProtocolFuzz FILE… (replays inputs; bench/fuzz.sh builds the libFuzzer target)") }
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { print("\(path): unreadable"); continue }
            data.withUnsafeBytes { ProtocolFuzz.one($0) }
            print("\(path): ok")
        }
        #endif
    }
}
