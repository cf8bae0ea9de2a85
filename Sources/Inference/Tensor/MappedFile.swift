#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file.
///
/// The mapping lives as long as this object; tensor views into it keep it
/// alive through their `owner` reference. Immutable after `init`, hence
/// `Sendable`.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer
    public let count: Int

    public init(path: String) throws(ModelError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT { throw .missingFile(path: path, what: "file") }
            throw .io(path: path, operation: "open", errno: e)
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .io(path: path, operation: "fstat", errno: errno) }
        if (st.st_mode & S_IFMT) != S_IFREG {
            throw .invalidFile(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        if size == 0 {
            // mmap refuses a zero length; an empty file is never a valid model.
            throw .invalidFile(path: path, reason: "file is empty")
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .io(path: path, operation: "mmap", errno: errno)
        }
        self.base = UnsafeRawPointer(p)
        self.count = size
    }

    /// Maps an already open file (e.g. one passed over a socket); `path` is
    /// only its name for messages. The descriptor stays the caller's.
    public init(descriptor fd: Int32, path: String) throws(ModelError) {
        self.path = path
        var st = stat()
        if fstat(fd, &st) != 0 { throw .io(path: path, operation: "fstat", errno: errno) }
        if (st.st_mode & S_IFMT) != S_IFREG { throw .invalidFile(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        if size == 0 { throw .invalidFile(path: path, reason: "file is empty") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .io(path: path, operation: "mmap", errno: errno)
        }
        self.base = UnsafeRawPointer(p)
        self.count = size
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), count)
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Drops this process's resident pages wholly inside `start ..< start +
    /// length` (a part of the mapping; partial pages at either end stay):
    /// `madvise(MADV_DONTNEED)` on a private, never-written file mapping,
    /// so a later read faults the same bytes in again from the file. For
    /// weights a model has copied (`BFloat16Weight`) and rarely reads again.
    public func releasePages(_ start: UnsafeRawPointer, length: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (Int(bitPattern: start) + page - 1) / page * page
        let hi = (Int(bitPattern: start) + length) / page * page
        let b = Int(bitPattern: base)
        guard hi > lo, lo >= b, hi <= b + count else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, MADV_DONTNEED)
    }
}
