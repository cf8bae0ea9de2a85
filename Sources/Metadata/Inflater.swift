import CZlib

/// zlib inflate with a bound on the output, so a small compressed "bomb"
/// cannot take much memory. The budget is shared by every call made while
/// reading one file.
struct Inflater {
    /// Bytes that may still be produced, of `budget`.
    private(set) var remaining: Int
    let budget: Int

    init(budget: Int = MetadataLimits.inflatedBytes) { self.budget = budget; remaining = budget }

    /// Inflates zlib or gzip data (told apart by its header).
    mutating func inflate(_ input: [UInt8], what: String) throws(MetadataError) -> [UInt8] {
        var s = z_stream()
        guard remaining > 0 else { throw .tooLarge("\(what) inflated, with the file's other compressed data,", limit: budget) }
        guard revsd_inflate_init_auto(&s) == Z_OK else { throw .badCompression("\(what): zlib could not start") }
        defer { inflateEnd(&s) }
        if input.isEmpty { throw .truncated("\(what): no compressed data") }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = input
        let limit = remaining
        let result: Int32 = input.withUnsafeMutableBufferPointer { inp in
            s.next_in = inp.baseAddress
            s.avail_in = UInt32(inp.count)
            while true {
                let r: Int32 = chunk.withUnsafeMutableBufferPointer { c in
                    s.next_out = c.baseAddress
                    s.avail_out = UInt32(c.count)
                    return CZlib.inflate(&s, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(s.avail_out)
                if produced > 0 {
                    if out.count + produced > limit { return Z_MEM_ERROR }
                    out += chunk[0..<produced]
                }
                if r == Z_STREAM_END { return r }
                if r != Z_OK { return r }
                if s.avail_in == 0 && produced == 0 { return Z_BUF_ERROR }
            }
        }
        switch result {
        case Z_STREAM_END:
            remaining -= out.count
            return out
        case Z_MEM_ERROR:
            let first = remaining == budget
            remaining = 0
            throw .tooLarge(first ? "\(what) inflated" : "\(what) inflated, with the file's other compressed data,", limit: budget)
        case Z_BUF_ERROR:
            throw .truncated("\(what): compressed stream ends early")
        default:
            throw .badCompression("\(what): zlib error \(result)")
        }
    }
}
