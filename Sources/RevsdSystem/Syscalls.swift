#if canImport(Glibc)
import Glibc
#endif

/// Each libc call revsd makes on files, wrapped once: EINTR is retried here,
/// and failures become a `SystemError` naming the call and the path.
public enum Syscalls {
    @discardableResult
    static func retrying(_ body: () -> Int) -> (Int, Int32) {
        while true {
            let r = body()
            if r >= 0 { return (r, 0) }
            let e = errno
            if e != EINTR { return (r, e) }
        }
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> Int32 {
        let (fd, e) = retrying { Int(Glibc.open(path, flags | O_CLOEXEC, mode)) }
        if fd < 0 { throw SystemError("open", path: path, errno: e) }
        return Int32(fd)
    }

    public static func close(_ fd: Int32) {
        // close is not retried on EINTR on Linux: the descriptor is gone either way.
        _ = Glibc.close(fd)
    }

    /// Writes all of `bytes`, looping over short writes.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let (n, e) = retrying { Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }
            if n < 0 { throw SystemError("write", path: path, errno: e) }
            done += n
        }
    }

    /// Up to `buffer.count` bytes at `offset`; 0 at the end of the file.
    public static func pread(_ fd: Int32, into buffer: inout [UInt8], at offset: Int, path: String) throws(SystemError) -> Int {
        let (n, e) = buffer.withUnsafeMutableBytes { buf in retrying { Glibc.pread(fd, buf.baseAddress, buf.count, off_t(offset)) } }
        if n < 0 { throw SystemError("pread", path: path, errno: e) }
        return n
    }

    public static func fsync(_ fd: Int32, path: String) throws(SystemError) {
        let (r, e) = retrying { Int(Glibc.fsync(fd)) }
        if r < 0 { throw SystemError("fsync", path: path, errno: e) }
    }

    /// fsyncs a directory so that renames inside it are durable.
    public static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        if Glibc.rename(from, to) != 0 { throw SystemError("rename to \(to)", path: from, errno: errno) }
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if Glibc.mkdir(current, mode) != 0 && errno != EEXIST {
                throw SystemError("mkdir", path: current, errno: errno)
            }
        }
        var st = stat()
        if stat(path, &st) != 0 { throw SystemError("stat", path: path, errno: errno) }
        if (st.st_mode & S_IFMT) != S_IFDIR { throw SystemError("mkdir", path: path, errno: ENOTDIR) }
    }

    /// An exclusive advisory lock on `path` (created if needed), held until
    /// the returned descriptor is closed. Blocks while another process holds it.
    public static func lockFile(_ path: String) throws(SystemError) -> Int32 {
        let fd = try open(path, O_RDWR | O_CREAT, mode: 0o644)
        let (r, e) = retrying { Int(flock(fd, LOCK_EX)) }
        if r < 0 { close(fd); throw SystemError("flock", path: path, errno: e) }
        return fd
    }

    public static func fileSize(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }
}

extension Syscalls {
    /// The whole content of a regular file (bounded by `limit` bytes).
    public static func readFile(_ path: String, limit: Int = 1 << 30) throws(SystemError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw SystemError("fstat", path: path, errno: errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw SystemError("read", path: path, errno: EISDIR) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let (n, e) = chunk.withUnsafeMutableBytes { buf in retrying { Glibc.read(fd, buf.baseAddress, buf.count) } }
            if n < 0 { throw SystemError("read", path: path, errno: e) }
            if n == 0 { break }
            out += chunk[0..<n]
            if out.count > limit { throw SystemError("read", path: path, errno: EFBIG) }
        }
        return out
    }
}

/// Why a user file could not be read whole.
public enum FileReadError: Error, Equatable, Sendable, CustomStringConvertible {
    case system(SystemError)
    case notRegularFile(path: String)
    case tooLarge(path: String, bytes: Int, limit: Int)
    /// The file shrank while it was read (a writer rewriting it in place).
    case changedWhileReading(path: String, expected: Int, got: Int)

    /// The reason alone, without the path.
    public var reason: String {
        switch self {
        case .system(let e): return e.errno == ENOENT ? "no such file" : "\(e.call): \(String(cString: strerror(e.errno)))"
        case .notRegularFile: return "not a regular file"
        case let .tooLarge(_, bytes, limit): return "file is \(bytes) bytes, over the \(limit)-byte limit"
        case let .changedWhileReading(_, expected, got): return "the file changed while it was read (\(got) of \(expected) bytes)"
        }
    }

    public var path: String {
        switch self {
        case .system(let e): return e.path
        case .notRegularFile(let p), .tooLarge(let p, _, _), .changedWhileReading(let p, _, _): return p
        }
    }

    public var description: String { "\(path): \(reason)" }
}

extension Syscalls {
    /// The whole content of the regular file open as `fd`, read with pread
    /// into one buffer of the size fstat gives (never mapped: a file that
    /// someone else shrinks under a mapping raises SIGBUS). A file over
    /// `limit` bytes is refused before anything is allocated; one that
    /// shrinks meanwhile is an error, never a crash.
    public static func readWhole(descriptor fd: Int32, path: String, limit: Int) throws(FileReadError) -> [UInt8] {
        var st = stat()
        if fstat(fd, &st) != 0 { throw .system(SystemError("fstat", path: path, errno: errno)) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .notRegularFile(path: path) }
        let size = Int(st.st_size)
        guard size <= limit else { throw .tooLarge(path: path, bytes: size, limit: limit) }
        var out = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let (n, e) = out.withUnsafeMutableBytes { buf in
                retrying { Glibc.pread(fd, buf.baseAddress! + done, size - done, off_t(done)) }
            }
            if n < 0 { throw .system(SystemError("pread", path: path, errno: e)) }
            if n == 0 { throw .changedWhileReading(path: path, expected: size, got: done) }
            done += n
        }
        return out
    }

    /// The whole content of the regular file at `path` (see `readWhole(descriptor:)`).
    public static func readWhole(path: String, limit: Int) throws(FileReadError) -> [UInt8] {
        let fd: Int32
        do { fd = try open(path, O_RDONLY) } catch { throw .system(error) }
        defer { close(fd) }
        return try readWhole(descriptor: fd, path: path, limit: limit)
    }
}
