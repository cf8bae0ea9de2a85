/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast generator whose
/// stream is fixed by its seed on every platform and Swift version, which the
/// standard library's `random(in:using:)` does not promise. Scenes, layouts
/// and textures draw from it so that a seed always gives the same image.
public struct SplitMix64: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser: a bijective 64-bit hash.
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<n (Lemire's multiply-shift; the bias is below
    /// 2⁻⁵⁰ for the small n used here).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0, "below(n) needs n > 0")
        return Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// A uniform Double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform Double in `range`.
    public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + unit() * (range.upperBound - range.lowerBound)
    }

    /// `0..<n` in a random order (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, below(i + 1)) }
        return p
    }
}
