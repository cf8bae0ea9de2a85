import CZlib
import Foundation
import XCTest
@testable import Learning
@testable import Metadata

/// Where the shared SD fixtures are, and helpers to read them and to build
/// small image containers by hand.
enum MetadataFixtures {
    /// `<package root>/../shared/fixtures`, else `$REVSD_SHARED/fixtures`.
    static func directory() throws -> URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var tried = [root.appendingPathComponent("../shared").standardized.path]
        if let env = ProcessInfo.processInfo.environment["REVSD_SHARED"], !env.isEmpty { tried.append(env) }
        for shared in tried {
            let fixtures = URL(fileURLWithPath: shared).appendingPathComponent("fixtures")
            if FileManager.default.fileExists(atPath: fixtures.appendingPathComponent("sd-meta/expected.tsv").path) {
                return fixtures
            }
        }
        throw XCTSkip("../shared/fixtures absent: looked in \(tried.joined(separator: " and ")); set REVSD_SHARED to the shared folder")
    }

    struct Row { let file: String; let container: String; let format: String; let prompt: String }

    /// sd-meta/expected.tsv: filename, container, width, height, format, prompt (\n, \r, \t, \\ escaped).
    static func expected() throws -> (URL, [Row]) {
        let dir = try directory().appendingPathComponent("sd-meta")
        let text = try String(contentsOf: dir.appendingPathComponent("expected.tsv"), encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().compactMap { line -> Row? in
            let c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard c.count >= 6 else { return nil }
            return Row(file: c[0], container: c[1], format: c[4], prompt: unescape(c[5]))
        }
        return (dir, rows)
    }

    /// expected.tsv escapes its prompts as prompts.tsv does.
    static func unescape(_ s: String) -> String { PromptsTSV.unescaped(Substring(s)) }

    /// Whitespace runs (including no-break spaces) collapsed to one space, ends trimmed.
    static func normalised(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace || $0 == "\u{00A0}" }).joined(separator: " ")
    }

    static func read(_ url: URL) throws -> MetadataReport {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { MetadataReader.read($0, path: url.lastPathComponent) }
    }

    static func read(bytes: [UInt8], path: String = "test") -> MetadataReport {
        bytes.withUnsafeBytes { MetadataReader.read($0, path: path) }
    }
}

/// Builds PNG, JPEG and WebP files carrying given metadata, for tests.
enum MetadataFileBuilder {
    static func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
    static func le32(_ v: Int) -> [UInt8] { [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v >> $0) } }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        UInt32(bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
    }

    static func chunk(_ type: String, _ data: [UInt8], badCRC: Bool = false) -> [UInt8] {
        let body = Array(type.utf8) + data
        let c = crc(body) ^ (badCRC ? 1 : 0)
        return be32(data.count) + body + be32(Int(c))
    }

    /// A 1×1 PNG with `chunks` between IHDR and IDAT (and `after` after IDAT).
    static func png(_ chunks: [[UInt8]], after: [[UInt8]] = []) -> [UInt8] {
        let ihdr = be32(1) + be32(1) + [8, 6, 0, 0, 0]
        let idat = ZipWriter.zlib([0, 0, 0, 0, 0])
        return PNGChunks.signature + chunk("IHDR", ihdr) + chunks.flatMap { $0 } + chunk("IDAT", idat)
            + after.flatMap { $0 } + chunk("IEND", [])
    }

    static func tEXt(_ key: String, _ text: String) -> [UInt8] {
        chunk("tEXt", Array(key.utf8) + [0] + Array(text.utf8))
    }

    static func zTXt(_ key: String, _ compressed: [UInt8]) -> [UInt8] {
        chunk("zTXt", Array(key.utf8) + [0, 0] + compressed)
    }

    static func iTXt(_ key: String, _ text: String, compressed: Bool) -> [UInt8] {
        let body = compressed ? ZipWriter.zlib(Array(text.utf8)) : Array(text.utf8)
        return chunk("iTXt", Array(key.utf8) + [0, compressed ? 1 : 0, 0] + Array("en".utf8) + [0] + [0] + body)
    }

    /// A big-endian TIFF with one IFD0 entry pointing to an Exif IFD holding `userComment`.
    static func tiff(userComment: [UInt8], littleEndian: Bool = false) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { littleEndian ? [UInt8(v & 0xff), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xff)] }
        func u32(_ v: Int) -> [UInt8] { littleEndian ? le32(v) : be32(v) }
        var t: [UInt8] = littleEndian ? Array("II*\0".utf8) : Array("MM\0*".utf8)
        t += u32(8)
        t += u16(1) + u16(0x8769) + u16(4) + u32(1) + u32(26) + u32(0)          // IFD0 at 8, 18 bytes → 26
        t += u16(1) + u16(0x9286) + u16(7) + u32(userComment.count) + u32(44) + u32(0)   // Exif IFD at 26 → 44
        return t + userComment
    }

    static func jpeg(app1 tiff: [UInt8]) -> [UInt8] {
        let payload = Array("Exif\0\0".utf8) + tiff
        return [0xFF, 0xD8, 0xFF, 0xE1] + [UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xff)]
            + payload + [0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9]
    }

    static func webp(exif tiff: [UInt8]) -> [UInt8] {
        var body = Array("WEBP".utf8)
        body += Array("VP8X".utf8) + le32(10) + [0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        body += Array("EXIF".utf8) + le32(tiff.count) + tiff + (tiff.count % 2 == 1 ? [0] : [])
        return Array("RIFF".utf8) + le32(body.count) + body
    }

    static func unicodeComment(_ text: String, bigEndian: Bool) -> [UInt8] {
        Array("UNICODE\0".utf8) + text.utf16.flatMap { u in
            bigEndian ? [UInt8(u >> 8), UInt8(u & 0xff)] : [UInt8(u & 0xff), UInt8(u >> 8)]
        }
    }
}

extension ZipWriter {
    /// zlib-wrapped deflate (PNG zTXt/iTXt/IDAT).
    static func zlib(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x9C] + deflate(data)
        let adler = data.withUnsafeBufferPointer { adler32(1, $0.baseAddress, UInt32($0.count)) }
        out += MetadataFileBuilder.be32(Int(adler))
        return out
    }

    /// gzip-wrapped deflate (stealth "comp" payloads).
    static func gzip(_ data: [UInt8]) -> [UInt8] {
        [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF] + deflate(data) + MetadataFileBuilder.le32(Int(MetadataFileBuilder.crc(data)))
            + MetadataFileBuilder.le32(data.count)
    }
}
