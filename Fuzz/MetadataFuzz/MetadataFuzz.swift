import Foundation
#if REVSD_FUZZ
import CFuzzer
#endif
import Metadata

/// libFuzzer target for the metadata readers (Metadata alone: bytes in,
/// metadata out). Each input is read three ways:
/// - as a whole image file (`MetadataReader.read`), and the prompt it yields
///   cleaned (`PromptText.cleaned`) and bounded (`GenerationMetadata.bounded`);
/// - as a small decoded RGBA image for `MetadataReader.stealthReport`: the
///   first byte gives the width (1–32 pixels), the next bytes (at most 16 KiB,
///   32×128 pixels: room for a payload, and cheap next to a 64 KiB file) are
///   the pixels, cut to a whole number of rows.
/// Nothing here checks values: bad input must come back as a report with
/// notes, and any trap, overflow or out-of-bounds access is the finding.
///
/// Built with `-sanitize=fuzzer -DREVSD_FUZZ` (bench/fuzz.sh) `main` runs
/// libFuzzer's driver; a plain build makes a replayer that runs the same code
/// over the files named on its command line (a crash input, a corpus).
enum MetadataFuzz {
    static func one(_ bytes: UnsafeRawBufferPointer) {
        let report = MetadataReader.read(bytes, path: "fuzz.png")
        if let metadata = report.metadata {
            if let prompt = metadata.prompt { _ = PromptText.cleaned(prompt) }
            _ = metadata.bounded(maxBytes: 256)
        }
        guard bytes.count > 1 else { return }
        let width = Int(bytes[0] % 32) + 1
        let pixels = UnsafeRawBufferPointer(rebasing: bytes[1..<min(bytes.count, 1 + 16 << 10)])
        let height = pixels.count / 4 / width
        guard height > 0 else { return }
        let rgba = UnsafeRawBufferPointer(rebasing: pixels[0..<(width * height * 4)])
        let stealth = MetadataReader.stealthReport(width: width, height: height, rgba: rgba, path: "fuzz.png")
        if let prompt = stealth.metadata?.prompt { _ = PromptText.cleaned(prompt) }
    }
}

/// `main`: libFuzzer's driver under `-DREVSD_FUZZ`, else the replayer.
@main
enum MetadataFuzzMain {
    static func main() {
        #if REVSD_FUZZ
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            MetadataFuzz.one(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        })
        #else
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty { print("usage: MetadataFuzz FILE… (replays inputs; bench/fuzz.sh builds the libFuzzer target)") }
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { print("\(path): unreadable"); continue }
            data.withUnsafeBytes { MetadataFuzz.one($0) }
            print("\(path): ok")
        }
        #endif
    }
}
