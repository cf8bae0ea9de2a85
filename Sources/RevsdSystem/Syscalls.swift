#if canImport(Glibc)
import Glibc
#endif

/// Each libc call revsd makes on files, wrapped once: EINTR is retried here,
/// and failures become a `SystemError` naming the call and the path.
/// EBADF and EFAULT are bugs in revsd (a closed descriptor, a bad pointer),
/// not conditions to handle: they stop the process (see `failure`).
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

    /// The error for a failed call. A descriptor revsd closed or never had
    /// (EBADF), or a pointer outside its memory (EFAULT), is a programmer
    /// error: it traps here, where the call is named, instead of travelling
    /// on as a runtime error.
    static func failure(_ call: String, path: String, errno e: Int32) -> SystemError {
        precondition(e != EBADF && e != EFAULT, "\(call) on \(path): \(SystemError.describe(e)) (a bug in revsd)")
        return SystemError(call, path: path, errno: e)
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> Int32 {
        let (fd, e) = retrying { Int(Glibc.open(path, flags | O_CLOEXEC, mode)) }
        if fd < 0 { throw failure("open", path: path, errno: e) }
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
            if n < 0 { throw failure("write", path: path, errno: e) }
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
        if r < 0 { throw failure("fsync", path: path, errno: e) }
    }

    /// fsyncs a directory so that renames inside it are durable.
    public static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        if Glibc.rename(from, to) != 0 { throw failure("rename to \(to)", path: from, errno: errno) }
    }

    public static func unlink(_ path: String) throws(SystemError) {
        if Glibc.unlink(path) != 0 { throw failure("unlink", path: path, errno: errno) }
    }

    /// Sets the modification (and access) time of the open file `fd` to now
    /// (futimens(2)): a cache's "recently used".
    public static func touch(_ fd: Int32, path: String) throws(SystemError) {
        if futimens(fd, nil) != 0 { throw failure("futimens", path: path, errno: errno) }
    }

    /// Sets the modification time of `path` (utimensat(2), no link followed).
    public static func setModificationTime(_ path: String, seconds: Int) throws(SystemError) {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        if utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) != 0 { throw failure("utimensat", path: path, errno: errno) }
    }

    /// chmod(2): the mode exactly, whatever the umask took from it at creation.
    public static func chmod(_ path: String, mode: mode_t) throws(SystemError) {
        if Glibc.chmod(path, mode) != 0 { throw failure("chmod", path: path, errno: errno) }
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if Glibc.mkdir(current, mode) != 0 && errno != EEXIST {
                throw failure("mkdir", path: current, errno: errno)
            }
        }
        if try status(path).kind != .directory { throw SystemError("mkdir", path: path, errno: ENOTDIR) }
    }

    /// An exclusive advisory lock on `path` (created if needed), held until
    /// the returned descriptor is closed. Blocks while another process holds it.
    public static func lockFile(_ path: String) throws(SystemError) -> Int32 {
        let fd = try open(path, O_RDWR | O_CREAT, mode: 0o644)
        let (r, e) = retrying { Int(flock(fd, LOCK_EX)) }
        if r < 0 { close(fd); throw failure("flock", path: path, errno: e) }
        return fd
    }

    /// An exclusive advisory lock on `path` (created if needed) if no other
    /// process holds it: the descriptor, held until closed; nil when another
    /// process holds the lock (flock LOCK_NB, EWOULDBLOCK).
    public static func tryLockFile(_ path: String) throws(SystemError) -> Int32? {
        let fd = try open(path, O_RDWR | O_CREAT, mode: 0o644)
        let (r, e) = retrying { Int(flock(fd, LOCK_EX | LOCK_NB)) }
        if r < 0 {
            close(fd)
            if e == EWOULDBLOCK { return nil }
            throw failure("flock", path: path, errno: e)
        }
        return fd
    }

    /// Replaces the whole content of the open file `fd` with `bytes`
    /// (ftruncate, then pwrite from offset 0).
    public static func overwrite(_ fd: Int32, with bytes: [UInt8], path: String) throws(SystemError) {
        let (r, e) = retrying { Int(ftruncate(fd, 0)) }
        if r < 0 { throw failure("ftruncate", path: path, errno: e) }
        var done = 0
        while done < bytes.count {
            let (n, e) = bytes.withUnsafeBytes { buf in
                retrying { Glibc.pwrite(fd, buf.baseAddress! + done, buf.count - done, off_t(done)) }
            }
            if n < 0 { throw failure("pwrite", path: path, errno: e) }
            done += n
        }
    }

    /// The size of a regular file; nil when `path` is not one (or cannot be stat'ed).
    public static func fileSize(_ path: String) -> Int? {
        guard let st = try? status(path), st.kind == .regular else { return nil }
        return Int(st.size)
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(SystemError) -> Int {
        let (n, e) = retrying { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        if n < 0 { throw failure("read", path: path, errno: e) }
        return n
    }

    /// The first `count` bytes of a file (fewer when it is shorter), opened
    /// non-blocking so that a FIFO or a device never stalls the caller.
    public static func readHead(_ path: String, count: Int) throws(SystemError) -> [UInt8] {
        let fd = try open(path, O_RDONLY | O_NONBLOCK)
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: count)
        let n = try head.withUnsafeMutableBytes { buf in Result { () throws(SystemError) in try read(fd, into: buf, path: path) } }.get()
        return Array(head.prefix(n))
    }

    /// The names in a directory, without "." and "..".
    public static func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        guard let d = opendir(path) else { throw failure("opendir", path: path, errno: errno) }
        defer { closedir(d) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(d) else {
                if errno != 0 { throw failure("readdir", path: path, errno: errno) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// True when `fd` is a terminal (isatty(3)); false for anything else,
    /// including a descriptor that is not open (a closed stdout).
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
}

/// What stat(2) says about a file, in the terms revsd uses.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case regular, directory, symbolicLink, socket, other }
    public let kind: Kind
    public let size: Int64
    /// Modification time, nanoseconds since the epoch.
    public let modifiedNs: Int64
    public let device: UInt64
    public let inode: UInt64

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        case S_IFSOCK: kind = .socket
        default: kind = .other
        }
        size = Int64(st.st_size)
        modifiedNs = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

extension Syscalls {
    /// stat(2), or lstat(2) when `followLinks` is false (a symbolic link is
    /// then reported as one).
    public static func status(_ path: String, followLinks: Bool = true) throws(SystemError) -> FileStatus {
        var st = stat()
        let r = followLinks ? stat(path, &st) : lstat(path, &st)
        if r != 0 { throw failure(followLinks ? "stat" : "lstat", path: path, errno: errno) }
        return FileStatus(st)
    }

    /// fstat(2) of an open descriptor (`path` names it in errors).
    public static func status(descriptor fd: Int32, path: String) throws(SystemError) -> FileStatus {
        var st = stat()
        if fstat(fd, &st) != 0 { throw failure("fstat", path: path, errno: errno) }
        return FileStatus(st)
    }
}

extension Syscalls {
    /// The whole content of a regular file (bounded by `limit` bytes).
    public static func readFile(_ path: String, limit: Int = 1 << 30) throws(SystemError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        if try status(descriptor: fd, path: path).kind == .directory { throw SystemError("read", path: path, errno: EISDIR) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { buf in Result { () throws(SystemError) in try read(fd, into: buf, path: path) } }.get()
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
        case .system(let e): return e.errno == ENOENT ? "no such file" : "\(e.call): \(e.reason)"
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
        let st: FileStatus
        do { st = try status(descriptor: fd, path: path) } catch { throw .system(error) }
        guard st.kind == .regular else { throw .notRegularFile(path: path) }
        let size = Int(st.size)
        guard size <= limit else { throw .tooLarge(path: path, bytes: size, limit: limit) }
        var out = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let (n, e) = out.withUnsafeMutableBytes { buf in
                retrying { Glibc.pread(fd, buf.baseAddress! + done, size - done, off_t(done)) }
            }
            if n < 0 {
                // A descriptor a client passed may be open for writing only
                // (or O_PATH): EBADF is then its mistake, not a bug of ours.
                if e == EBADF { throw .system(SystemError("pread (not open for reading)", path: path, errno: e)) }
                throw .system(failure("pread", path: path, errno: e))
            }
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
