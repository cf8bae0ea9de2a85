import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// SHA-256, streaming, through swift-crypto (BoringSSL's assembly on Linux;
/// issue #13 measured 1,736 MB/s for it against 259 MB/s for the Swift
/// implementation revsd had, on the same data; not yet re-measured in
/// bench/). Content hashes of images and the pinned models' checksums both
/// go through here.
public struct SHA256: Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        let a = Array(bytes)
        a.withUnsafeBytes { update($0) }
    }

    public mutating func finalize() -> [UInt8] { Array(hasher.finalize()) }

    public mutating func hexDigest() -> String { Self.hex(digest: finalize()) }

    static func hex(digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(digest.count * 2)
        for b in digest { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Digest of a whole buffer.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var s = SHA256(); s.update(bytes); return s.hexDigest()
    }

    /// Digest of a regular file, read with pread in 1 MiB blocks (bounded
    /// memory, never mapped: the file may be someone else's).
    public static func hex(ofFile path: String) throws(SystemError) -> String {
        let fd = try Syscalls.open(path, O_RDONLY)
        defer { Syscalls.close(fd) }
        var s = SHA256()
        var block = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let n = try Syscalls.pread(fd, into: &block, at: offset, path: path)
            if n == 0 { break }
            block.withUnsafeBytes { s.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
        return s.hexDigest()
    }
}
