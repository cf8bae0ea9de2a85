/// Bounds-checked reads for the container walkers: every read returns nil
/// instead of touching memory outside the buffer.
extension UnsafeRawBufferPointer {
    /// True when `length` bytes starting at `offset` lie inside the buffer.
    func contains(offset: Int, length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count && length <= count - offset
    }

    func byte(at offset: Int) -> UInt8? {
        contains(offset: offset, length: 1) ? self[offset] : nil
    }

    func uint16(at offset: Int, bigEndian: Bool) -> UInt16? {
        guard contains(offset: offset, length: 2) else { return nil }
        let a = UInt16(self[offset]), b = UInt16(self[offset + 1])
        return bigEndian ? a << 8 | b : b << 8 | a
    }

    func uint32(at offset: Int, bigEndian: Bool) -> UInt32? {
        guard contains(offset: offset, length: 4) else { return nil }
        var v: UInt32 = 0
        for i in 0..<4 {
            let shift = bigEndian ? 8 * (3 - i) : 8 * i
            v |= UInt32(self[offset + i]) << UInt32(shift)
        }
        return v
    }

    func bytes(at offset: Int, length: Int) -> [UInt8]? {
        contains(offset: offset, length: length) ? Array(self[offset..<(offset + length)]) : nil
    }

    /// True when the bytes at `offset` equal `ascii`.
    func matches(_ ascii: String, at offset: Int) -> Bool {
        let u = Array(ascii.utf8)
        guard contains(offset: offset, length: u.count) else { return false }
        for i in 0..<u.count where self[offset + i] != u[i] { return false }
        return true
    }
}

extension Array where Element == UInt8 {
    /// Runs `body` over the array's bytes as an `UnsafeRawBufferPointer`.
    func withRaw<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}
