import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file whole: written to a temporary file in the same folder,
/// fsynced, renamed over the destination, and the folder fsynced. A reader
/// (or the disk after a crash) sees the old content or the new one, never
/// part of either. When a step fails, the temporary file is removed, the old
/// file is left as it was, and the error names the call and the path.
///
/// `durable: false` skips both fsyncs, for files that can be made again
/// (the thumbnail cache): readers still see the old or the new content, but
/// after a crash the new name may hold an empty or partial file, which the
/// owner must detect.
public enum AtomicFile {
    /// Writes `bytes` as the new content of `path`.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String, mode: mode_t = 0o644, durable: Bool = true) throws {
        try write(to: path, mode: mode, durable: durable) { try $0.write(bytes) }
    }

    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        try data.withUnsafeBytes { try write($0, to: path, mode: mode) }
    }

    /// Streams the new content of `path`: `body` writes it (in as many
    /// pieces as it likes) through the writer it is given. An error thrown
    /// by `body` leaves the old file in place and is rethrown.
    public static func write(to path: String, mode: mode_t = 0o644, durable: Bool = true, _ body: (Writer) throws -> Void) throws {
        let folder = Self.folder(of: path)
        let (temporary, fd) = try createTemporary(beside: path, mode: mode)
        var open = true
        do {
            try body(Writer(fd: fd, path: temporary))
            if durable { try Syscalls.fsync(fd, path: temporary) }
            Syscalls.close(fd)
            open = false
            try Syscalls.rename(temporary, path)
        } catch {
            if open { Syscalls.close(fd) }
            unlink(temporary)
            throw error
        }
        if durable { try Syscalls.fsyncDirectory(folder) }
    }

    /// Where the new content goes before it is renamed into place.
    public struct Writer {
        let fd: Int32
        /// The temporary file's path (for error messages).
        public let path: String

        /// Appends all of `bytes`.
        public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
            try Syscalls.writeAll(fd, bytes, path: path)
        }
    }

    /// The folder holding `path` ("." for a bare name), found by bytes: a
    /// "/" followed by a combining mark is one Character in Swift.
    static func folder(of path: String) -> String {
        let bytes = path.utf8
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == bytes.startIndex { return "/" }
        return String(Substring(bytes[..<slash]))
    }

    /// A new file next to `path`, named so that concurrent writers (threads
    /// or processes) never share one.
    static func createTemporary(beside path: String, mode: mode_t) throws(SystemError) -> (String, Int32) {
        while true {
            let temporary = path + ".tmp-\(getpid())-\(String(UInt32.random(in: .min ... .max), radix: 16))"
            do {
                return (temporary, try Syscalls.open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode: mode))
            } catch where error.errno == EEXIST {
                continue
            }
        }
    }
}
