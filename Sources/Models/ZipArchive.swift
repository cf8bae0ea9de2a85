import CZlib
import Inference

/// Reads the ZIP archives that Python wheels are: the central directory, and
/// entries stored or deflated, streamed to disk with their CRC-32 checked.
/// Only what a wheel needs (no ZIP64, no encryption); anything else is
/// refused with a message naming the archive.
public struct ZipArchive {
    public struct Entry: Sendable {
        public let name: String
        public let method: UInt16
        public let crc32: UInt32
        public let compressedSize: Int
        public let size: Int
        public let localHeaderOffset: Int
    }

    public let path: String
    let file: MappedFile
    public let entries: [String: Entry]

    public init(path: String) throws {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch {
            if case .invalidFile(_, let reason) = error { throw ModelError.invalidArchive(path: path, reason: reason) }
            throw error
        }
        self.file = file
        self.path = path
        func bad(_ r: String) -> ModelError { .invalidArchive(path: path, reason: r) }
        let b = file.bytes
        func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }

        // End of central directory: 22 bytes plus a comment of up to 64 KiB, at the end.
        guard b.count >= 22 else { throw bad("too short for a ZIP archive (truncated download?)") }
        var eocd = -1
        var o = b.count - 22
        let lowest = max(0, b.count - 22 - 65_535)
        while o >= lowest {
            if u32(o) == 0x0605_4b50 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else { throw bad("no end-of-central-directory record (truncated download?)") }
        let count = Int(u16(eocd + 10))
        let cdSize = Int(u32(eocd + 12))
        let cdOffset = Int(u32(eocd + 16))
        guard cdOffset != 0xFFFF_FFFF, count != 0xFFFF else { throw bad("ZIP64 archives are not supported") }
        guard cdOffset + cdSize <= eocd else { throw bad("central directory lies outside the archive") }
        var entries: [String: Entry] = [:]
        var p = cdOffset
        for _ in 0..<count {
            guard p + 46 <= cdOffset + cdSize, u32(p) == 0x0201_4b50 else { throw bad("corrupt central directory entry") }
            let flags = u16(p + 8)
            let method = u16(p + 10)
            let crc = u32(p + 16)
            let csize = Int(u32(p + 20))
            let usize = Int(u32(p + 24))
            let nameLen = Int(u16(p + 28)), extraLen = Int(u16(p + 30)), commentLen = Int(u16(p + 32))
            let local = Int(u32(p + 42))
            guard p + 46 + nameLen <= b.count else { throw bad("entry name runs past the end") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: b[(p + 46)..<(p + 46 + nameLen)]), as: UTF8.self)
            guard flags & 1 == 0 else { throw bad("entry '\(name)' is encrypted") }
            guard local + 30 <= cdOffset else { throw bad("entry '\(name)' points outside the archive") }
            entries[name] = Entry(name: name, method: method, crc32: crc, compressedSize: csize, size: usize, localHeaderOffset: local)
            p += 46 + nameLen + extraLen + commentLen
        }
        self.entries = entries
    }

    /// Streams `entry`'s content to `body` in chunks, checking size and CRC-32.
    public func read(_ entry: Entry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        func bad(_ r: String) -> ModelError { .invalidArchive(path: path, reason: "entry '\(entry.name)': \(r)") }
        let b = file.bytes
        let h = entry.localHeaderOffset
        guard UInt32(littleEndian: b.loadUnaligned(fromByteOffset: h, as: UInt32.self)) == 0x0403_4b50 else {
            throw bad("bad local header")
        }
        let nameLen = Int(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: h + 26, as: UInt16.self)))
        let extraLen = Int(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: h + 28, as: UInt16.self)))
        let start = h + 30 + nameLen + extraLen
        guard start + entry.compressedSize <= b.count else { throw bad("data runs past the end of the archive (truncated?)") }
        let data = UnsafeRawBufferPointer(rebasing: b[start..<(start + entry.compressedSize)])
        var crc = CZlib.crc32(0, nil, 0)
        var produced = 0
        switch entry.method {
        case 0:
            let chunk = 1 << 20
            var o = 0
            while o < data.count {
                let part = UnsafeRawBufferPointer(rebasing: data[o..<min(data.count, o + chunk)])
                crc = CZlib.crc32(crc, part.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(part.count))
                try body(part)
                o += part.count
            }
            produced = data.count
        case 8:
            var stream = z_stream()
            guard revsd_inflate_init_raw(&stream) == Z_OK else { throw bad("zlib could not start") }
            defer { inflateEnd(&stream) }
            let outSize = 1 << 20
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: outSize, alignment: 16)
            defer { out.deallocate() }
            stream.next_in = UnsafeMutablePointer(mutating: data.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = UInt32(data.count)
            var status = Z_OK
            repeat {
                stream.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.avail_out = UInt32(outSize)
                status = inflate(&stream, Z_NO_FLUSH)
                guard status == Z_OK || status == Z_STREAM_END else { throw bad("corrupt deflate data") }
                let n = outSize - Int(stream.avail_out)
                if n == 0 && status != Z_STREAM_END && stream.avail_in == 0 { throw bad("deflate data ends early (truncated?)") }
                produced += n
                guard produced <= entry.size else { throw bad("inflates past its declared size") }
                crc = CZlib.crc32(crc, out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(n))
                try body(UnsafeRawBufferPointer(rebasing: out[0..<n]))
            } while status != Z_STREAM_END
        default:
            throw bad("compression method \(entry.method) is not supported")
        }
        guard produced == entry.size else { throw bad("has \(produced) bytes, expected \(entry.size)") }
        guard UInt32(crc) == entry.crc32 else { throw bad("CRC-32 mismatch") }
    }
}
