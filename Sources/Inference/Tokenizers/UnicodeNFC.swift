import Foundation

/// Canonical composition (NFC) as the Hugging Face `tokenizers` NFC
/// normaliser computes it: the `unicode-normalization-alignments` crate, whose
/// tables are Unicode 9.0. A scalar assigned later has no decomposition and
/// combining class 0 there, so marks of later versions are not reordered.
///
/// Foundation's `precomposedStringWithCanonicalMapping` is not used on text:
/// besides its newer tables, it composes a supplementary-plane starter as if
/// it were the BMP scalar of its low 16 bits (U+100CA + U+0300 → U+1EC0) and
/// joins archaic Hangul vowels into syllables. Only the canonical
/// decompositions of single scalars are read from it, once.
public enum UnicodeNFC {
    public static let version: Unicode.Version = (major: 9, minor: 0)

    @inline(__always)
    static func known(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        return age.major < version.major || (age.major == version.major && age.minor <= version.minor)
    }

    @inline(__always)
    static func combiningClass(_ s: Unicode.Scalar) -> UInt8 {
        s.value < 0x300 || !known(s) ? 0 : s.properties.canonicalCombiningClass.rawValue
    }

    struct Tables: Sendable {
        /// Full canonical decomposition of every decomposable scalar (Hangul aside).
        var decomposition: [UInt32: [Unicode.Scalar]] = [:]
        /// Primary composites: (first << 32 | second) → composite.
        var composition: [UInt64: Unicode.Scalar] = [:]
    }

    /// Where the canonical decompositions are (Hangul syllables are algorithmic).
    static let decomposableRanges: [ClosedRange<UInt32>] = [0xC0...0x30FF, 0xF900...0xFB4F, 0x11000...0x11FFF, 0x1D100...0x1D1FF, 0x2F800...0x2FA1F]

    static let tables: Tables = {
        var t = Tables()
        for range in decomposableRanges {
            for v in range {
                guard let s = Unicode.Scalar(v), known(s) else { continue }
                let d = Array(String(Character(s)).decomposedStringWithCanonicalMapping.unicodeScalars)
                if d != [s] { t.decomposition[v] = d }
            }
        }
        // The composite of each full decomposition (a singleton's target
        // rather than the singleton: Å rather than the ångström sign).
        var byDecomposition: [[UInt32]: Unicode.Scalar] = [:]
        for (v, d) in t.decomposition {
            let s = Unicode.Scalar(v)!
            let key = d.map(\.value)
            if byDecomposition[key] == nil || !s.properties.isFullCompositionExclusion { byDecomposition[key] = s }
        }
        for (v, d) in t.decomposition where d.count >= 2 {
            let s = Unicode.Scalar(v)!
            guard !s.properties.isFullCompositionExclusion else { continue }
            // One level down: (the composite of all but the last, the last).
            let first = d.count == 2 ? d[0] : byDecomposition[d.dropLast().map(\.value)]
            guard let first else { continue }
            t.composition[UInt64(first.value) << 32 | UInt64(d.last!.value)] = s
        }
        return t
    }()

    // Hangul (Unicode §3.12).
    static let sBase: UInt32 = 0xAC00, lBase: UInt32 = 0x1100, vBase: UInt32 = 0x1161, tBase: UInt32 = 0x11A7
    static let lCount: UInt32 = 19, vCount: UInt32 = 21, tCount: UInt32 = 28, sCount: UInt32 = 19 * 21 * 28

    static func decompose(_ s: Unicode.Scalar, into out: inout [Unicode.Scalar]) {
        let v = s.value
        if v >= sBase && v < sBase + sCount {
            let i = v - sBase
            out.append(Unicode.Scalar(lBase + i / (vCount * tCount))!)
            out.append(Unicode.Scalar(vBase + (i % (vCount * tCount)) / tCount)!)
            if i % tCount != 0 { out.append(Unicode.Scalar(tBase + i % tCount)!) }
        } else if v >= 0xC0, let d = tables.decomposition[v] {
            out.append(contentsOf: d)
        } else {
            out.append(s)
        }
    }

    static func compose(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Unicode.Scalar? {
        let (x, y) = (a.value, b.value)
        if x >= lBase && x < lBase + lCount && y >= vBase && y < vBase + vCount {
            return Unicode.Scalar(sBase + ((x - lBase) * vCount + (y - vBase)) * tCount)
        }
        if x >= sBase && x < sBase + sCount && (x - sBase) % tCount == 0 && y > tBase && y < tBase + tCount {
            return Unicode.Scalar(x + (y - tBase))
        }
        return tables.composition[UInt64(x) << 32 | UInt64(y)]
    }

    /// The NFC form of `text`.
    public static func normalize(_ text: some Sequence<Unicode.Scalar>) -> [Unicode.Scalar] {
        var buffer: [Unicode.Scalar] = []
        for s in text { decompose(s, into: &buffer) }
        if buffer.allSatisfy({ $0.value < 0x300 }) { return buffer }
        // Canonical ordering: a stable sort of each run of non-starters by class.
        var i = 0
        while i < buffer.count {
            guard combiningClass(buffer[i]) != 0 else { i += 1; continue }
            var j = i
            while j < buffer.count && combiningClass(buffer[j]) != 0 { j += 1 }
            if j - i > 1 {
                let run = buffer[i..<j].enumerated().sorted { (combiningClass($0.element), $0.offset) < (combiningClass($1.element), $1.offset) }
                buffer.replaceSubrange(i..<j, with: run.map(\.element))
            }
            i = j
        }
        // Canonical composition (UAX #15): each character joins the last
        // starter unless a character between them blocks it.
        guard !buffer.isEmpty else { return buffer }
        var out: [Unicode.Scalar] = [buffer[0]]
        out.reserveCapacity(buffer.count)
        var starter = 0
        var lastClass: Int = combiningClass(buffer[0]) == 0 ? 0 : 256
        for ch in buffer.dropFirst() {
            let cc = Int(combiningClass(ch))
            if lastClass < cc || lastClass == 0, let c = compose(out[starter], ch) {
                out[starter] = c
                continue
            }
            if cc == 0 { starter = out.count }
            lastClass = cc
            out.append(ch)
        }
        return out
    }
}
