#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RevsdSystem
import Synchronization

/// The gallery's thumbnails on disk: `<directory>/<first 2 hex>/<hash>.webp`,
/// one per content hash (identical copies share one), each written
/// atomically. The cache is bounded: when the files' total size passes
/// `limitBytes`, the least recently used (oldest file mtime; serving one
/// touches it) are removed until the total is at most 90% of the bound
/// (`lowWater`), so one scan pays for many additions. Each file counts as
/// its size rounded up to whole 4 KiB blocks (what it takes on a typical
/// filesystem), so the bound is about the disk space used. A thumbnail removed
/// (evicted, or deleted by hand) is made again when it is asked for.
///
/// Thumbnails are written without fsync (two per file cost phase 2 about
/// 2 ms each on an SSD, far more on a disk): a crash can leave one empty or
/// cut short, so `open` serves only a file whose RIFF/WEBP header states its
/// length, and removes any other (it is made again).
public final class ThumbnailCache: Sendable {
    public let directory: String
    public let limitBytes: Int64
    /// The total an eviction brings the cache down to.
    public var lowWater: Int64 { limitBytes / 10 * 9 }

    struct State {
        /// Bytes in the cache: nil until the first scan.
        var total: Int64?
        var evicting = false
    }
    let state = Mutex(State())

    /// What a file of `size` bytes counts for: whole 4 KiB blocks.
    public static func charged(_ size: Int64) -> Int64 { (size + 4095) / 4096 * 4096 }

    public init(directory: String, limitBytes: Int64) {
        self.directory = directory
        self.limitBytes = limitBytes
    }

    /// A content hash as the index stores it (sha256, 64 lowercase hex):
    /// only such names become paths.
    public static func isContentHash(_ hash: String) -> Bool {
        hash.utf8.count == 64 && hash.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    public func path(for hash: String) -> String {
        precondition(Self.isContentHash(hash), "a content hash names a thumbnail")
        return directory + "/" + String(hash.prefix(2)) + "/" + hash + ".webp"
    }

    /// Stores the thumbnail of `hash` (replacing any), then evicts when over the bound.
    public func store(_ webp: [UInt8], for hash: String) throws {
        let p = path(for: hash)
        try Syscalls.makeDirectories(directory + "/" + String(hash.prefix(2)), mode: 0o750)
        try webp.withUnsafeBytes { try AtomicFile.write($0, to: p, mode: 0o640, durable: false) }
        let over = state.withLock { s -> Bool in
            guard let t = s.total else { return !s.evicting }   // unknown: scan once
            s.total = t + Self.charged(Int64(webp.count))
            return s.total! > limitBytes && !s.evicting
        }
        if over { evictIfOver() }
    }

    /// The thumbnail of `hash` opened read-only, and its size; nil when there
    /// is none, or when what is there is not a whole WebP file (removed).
    /// Marks it used (its mtime) for the eviction order.
    public func open(_ hash: String) -> (fd: Int32, size: Int)? {
        let p = path(for: hash)
        guard let fd = try? Syscalls.open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { return nil }
        guard let st = try? Syscalls.status(descriptor: fd, path: p), st.kind == .regular else { Syscalls.close(fd); return nil }
        var header = [UInt8](repeating: 0, count: 12)
        let read = (try? Syscalls.pread(fd, into: &header, at: 0, path: p)) ?? 0
        guard read == 12, Self.isWholeWebP(header: header, fileSize: st.size) else {
            Syscalls.close(fd)
            remove(hash)
            return nil
        }
        try? Syscalls.touch(fd, path: p)
        return (fd, Int(st.size))
    }

    /// Whether a file of `fileSize` bytes starting with `header` (its first
    /// 12 bytes) is a whole RIFF WebP file: "RIFF", the little-endian length
    /// of what follows the first 8 bytes, "WEBP".
    public static func isWholeWebP(header: [UInt8], fileSize: Int64) -> Bool {
        guard header.count >= 12, header[0..<4].elementsEqual("RIFF".utf8), header[8..<12].elementsEqual("WEBP".utf8) else { return false }
        let length = header[4..<8].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return length + 8 == fileSize
    }

    /// Removes the thumbnail of `hash`, if there is one.
    public func remove(_ hash: String) {
        guard Self.isContentHash(hash) else { return }
        let p = path(for: hash)
        guard let size = Syscalls.fileSize(p), (try? Syscalls.unlink(p)) != nil else { return }
        state.withLock { s in s.total = s.total.map { max(0, $0 - Self.charged(Int64(size))) } }
    }

    /// One file of the cache.
    public struct Entry: Sendable, Equatable {
        public var hash: String
        public var size: Int64
        public var modifiedNs: Int64
    }

    /// Every thumbnail file (names that are not thumbnails are left alone).
    public func entries() -> [Entry] {
        guard let shards = try? Syscalls.directoryEntries(directory) else { return [] }
        var out: [Entry] = []
        for shard in shards where shard.utf8.count == 2 {
            for name in (try? Syscalls.directoryEntries(directory + "/" + shard)) ?? [] where name.hasSuffix(".webp") {
                let hash = String(name.dropLast(5))
                guard Self.isContentHash(hash), hash.hasPrefix(shard),
                      let st = try? Syscalls.status(directory + "/" + shard + "/" + name, followLinks: false), st.kind == .regular
                else { continue }
                out.append(Entry(hash: hash, size: st.size, modifiedNs: st.modifiedNs))
            }
        }
        return out
    }

    /// Which entries an eviction removes: least recently used first (oldest
    /// mtime, then hash), until the rest fit in `lowWater`; none when the
    /// total is within `limit`.
    public static func evictionOrder(_ entries: [Entry], limit: Int64, lowWater: Int64) -> [Entry] {
        var total = entries.reduce(Int64(0)) { $0 + charged($1.size) }
        guard total > limit else { return [] }
        var out: [Entry] = []
        for e in entries.sorted(by: { ($0.modifiedNs, $0.hash) < ($1.modifiedNs, $1.hash) }) {
            guard total > lowWater else { break }
            out.append(e); total -= charged(e.size)
        }
        return out
    }

    /// Scans the cache, and when it is over the bound removes the least
    /// recently used thumbnails. Returns how many went.
    @discardableResult
    public func evictIfOver() -> Int {
        let mine = state.withLock { s -> Bool in
            if s.evicting { return false }
            s.evicting = true
            return true
        }
        guard mine else { return 0 }
        let all = entries()
        let victims = Self.evictionOrder(all, limit: limitBytes, lowWater: lowWater)
        var total = all.reduce(Int64(0)) { $0 + Self.charged($1.size) }
        for v in victims where (try? Syscalls.unlink(path(for: v.hash))) != nil { total -= Self.charged(v.size) }
        state.withLock { $0.total = total; $0.evicting = false }
        return victims.count
    }

    /// Removes the thumbnails of contents no indexed image holds (`kept`
    /// says which of a list of hashes are still held): the sweep at start,
    /// for thumbnails whose removal a crash or a race left undone.
    @discardableResult
    public func removeOrphans(kept: ([String]) throws -> Set<String>) throws -> Int {
        let hashes = entries().map(\.hash)
        let held = try kept(hashes)
        let orphans = hashes.filter { !held.contains($0) }
        for h in orphans { remove(h) }
        return orphans.count
    }
}
