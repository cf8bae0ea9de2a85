#if canImport(Glibc)
import Glibc
#endif

/// inotify's event bits. Swift imports the IN_* constants as Int32 while
/// `inotify_event.mask` is UInt32; this wraps them once.
public struct InotifyMask: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let closeWrite = InotifyMask(rawValue: 0x0000_0008)
    public static let movedFrom = InotifyMask(rawValue: 0x0000_0040)
    public static let movedTo = InotifyMask(rawValue: 0x0000_0080)
    public static let create = InotifyMask(rawValue: 0x0000_0100)
    public static let delete = InotifyMask(rawValue: 0x0000_0200)
    public static let deleteSelf = InotifyMask(rawValue: 0x0000_0400)
    public static let moveSelf = InotifyMask(rawValue: 0x0000_0800)
    public static let unmount = InotifyMask(rawValue: 0x0000_2000)
    public static let queueOverflow = InotifyMask(rawValue: 0x0000_4000)
    public static let ignored = InotifyMask(rawValue: 0x0000_8000)
    public static let onlyDirectory = InotifyMask(rawValue: 0x0100_0000)
    public static let dontFollow = InotifyMask(rawValue: 0x0200_0000)
    public static let excludeUnlinked = InotifyMask(rawValue: 0x0400_0000)
    public static let isDirectory = InotifyMask(rawValue: 0x4000_0000)

    /// What revsd asks for on every watched directory.
    public static let watched: InotifyMask = [.closeWrite, .movedFrom, .movedTo, .create, .delete, .deleteSelf, .moveSelf,
                                              .onlyDirectory, .dontFollow, .excludeUnlinked]
}

/// One event as read from the inotify descriptor.
public struct InotifyEvent: Sendable, Equatable {
    public var wd: Int32
    public var mask: InotifyMask
    public var cookie: UInt32
    public var name: String

    /// Parses a buffer filled by read(2): records of
    /// `{wd: i32, mask: u32, cookie: u32, len: u32, name[len]}` (name NUL-padded).
    /// Swift 6.3 imports `inotify_event` without its flexible `name` member, so
    /// the layout is read by offset.
    public static func parse(_ buffer: UnsafeRawBufferPointer) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        var o = 0
        while o + 16 <= buffer.count {
            let wd = buffer.loadUnaligned(fromByteOffset: o, as: Int32.self)
            let mask = buffer.loadUnaligned(fromByteOffset: o + 4, as: UInt32.self)
            let cookie = buffer.loadUnaligned(fromByteOffset: o + 8, as: UInt32.self)
            let len = Int(buffer.loadUnaligned(fromByteOffset: o + 12, as: UInt32.self))
            guard o + 16 + len <= buffer.count else { break }
            let nameBytes = UnsafeRawBufferPointer(rebasing: buffer[(o + 16)..<(o + 16 + len)]).prefix { $0 != 0 }
            events.append(InotifyEvent(wd: wd, mask: InotifyMask(rawValue: mask), cookie: cookie,
                                       name: String(decoding: nameBytes, as: UTF8.self)))
            o += 16 + len
        }
        return events
    }
}

/// What an event means for the index, decided by pure rules (tested alone).
public enum WatchAction: Sendable, Equatable {
    /// A file was completely written or moved in: (re)index it.
    case fileReady(String)
    /// A directory appeared: watch it and scan what is already inside.
    case directoryAppeared(String)
    /// A file or directory left: drop its records (unless a move pairs it).
    case gone(String, cookie: UInt32?)
    /// The other half of a move: `gone(from, cookie)` plus this pair.
    case arrived(String, cookie: UInt32, isDirectory: Bool)
    /// The kernel dropped events: rescan.
    case overflow
    /// A watched directory itself vanished or moved (its watch is gone).
    case watchLost(Int32)
    case ignore

    public static func classify(_ e: InotifyEvent, directory: String?) -> WatchAction {
        if e.mask.contains(.queueOverflow) { return .overflow }
        // A watch ends with IN_IGNORED (after IN_DELETE_SELF or IN_UNMOUNT). A
        // watched folder that moves keeps its watch (IN_MOVE_SELF): its parent's
        // IN_MOVED_FROM/TO already said where it went, so only a root matters.
        if e.mask.contains(.ignored) || e.mask.contains(.moveSelf) { return .watchLost(e.wd) }
        if e.mask.contains(.deleteSelf) || e.mask.contains(.unmount) { return .ignore }
        guard let directory, !e.name.isEmpty else { return .ignore }
        let path = directory == "/" ? "/" + e.name : directory + "/" + e.name
        let isDir = e.mask.contains(.isDirectory)
        if e.mask.contains(.movedTo) {
            return e.cookie != 0 ? .arrived(path, cookie: e.cookie, isDirectory: isDir) : (isDir ? .directoryAppeared(path) : .fileReady(path))
        }
        if e.mask.contains(.movedFrom) { return .gone(path, cookie: e.cookie) }
        if e.mask.contains(.delete) { return .gone(path, cookie: nil) }
        if isDir && e.mask.contains(.create) { return .directoryAppeared(path) }
        if !isDir && e.mask.contains(.closeWrite) { return .fileReady(path) }
        return .ignore   // a file created but not yet closed: wait for IN_CLOSE_WRITE
    }
}
