import CTurboJPEG

/// Decoding a lossy image smaller than it is stored, when what follows only
/// needs a small picture of it: JPEG through libjpeg-turbo's DCT scaling
/// (whole n/8 factors), lossy WebP through libwebp's rescaler (any size).
/// The reduced image keeps its short side at least `minimumShortSide`, so
/// the encoders' own bicubic resize still shrinks it. Off (nil) by default:
/// the exact decode is what the golden tests and the features are held to.
///
/// Measured with bench/scaled_decode.sh (2 cores, shared machine): at a
/// margin of 2 (short side ≥ 584 px) decode + preprocessing is 1.9× faster on
/// sd-meta's JPEG/WebP and 2.7× on large ones, zero-shot quality unchanged
/// (0.3778 → 0.3777, 0.4405 → 0.4408), but EfficientNet-Lite2's features fall
/// to 0.9866 cosine of the exact path's on one real JPEG (cdtuner__sample3,
/// 1472×1197 at 1/2), under the 0.99 asked of any change of the stored
/// features, so analysis does not use it yet.
public struct ReducedDecode: Sendable, Equatable {
    /// The short side the decoded image must keep (before orientation, which
    /// does not change it).
    public var minimumShortSide: Int
    /// The JPEG factors to choose from (`powersOfTwo` unless told otherwise).
    public var jpegFactors: [Factor]

    public init(minimumShortSide: Int, jpegFactors: [Factor] = ReducedDecode.powersOfTwo) {
        precondition(minimumShortSide > 0, "a positive short side")
        self.minimumShortSide = minimumShortSide
        self.jpegFactors = jpegFactors
    }

    /// A scale factor num/denom (≤ 1); sizes scale as libjpeg-turbo's
    /// TJSCALED: ceil(side · num / denom).
    public struct Factor: Sendable, Equatable, CustomStringConvertible {
        public var num: Int
        public var denom: Int
        public init(num: Int, denom: Int) { self.num = num; self.denom = denom }
        public static let one = Factor(num: 1, denom: 1)
        public func scaled(_ side: Int) -> Int { (side * num + denom - 1) / denom }
        public var description: String { "\(num)/\(denom)" }
    }

    /// The smallest of `jpegFactors` (those ≤ 1) that keeps the short side
    /// of `width` × `height` at least `minimumShortSide`; 1/1 when none reduces.
    public func jpegFactor(width: Int, height: Int) -> Factor {
        let short = min(width, height)
        var best = Factor.one
        for f in jpegFactors where f.num * best.denom < best.num * f.denom && f.scaled(short) >= minimumShortSide {
            best = f
        }
        return best
    }

    /// Every factor libjpeg-turbo offers (n/8, 2/1 down to 1/8).
    public static var allJPEGFactors: [Factor] {
        var n: Int32 = 0
        guard let list = tjGetScalingFactors(&n) else { return [] }
        return (0..<Int(n)).map { Factor(num: Int(list[$0].num), denom: Int(list[$0].denom)) }
    }

    /// The powers of two among them (1/2, 1/4, 1/8): the factors its SIMD
    /// reduced IDCTs cover (the other n/8 run in plain C).
    public static var powersOfTwo: [Factor] {
        allJPEGFactors.filter { $0.num == 1 && [2, 4, 8].contains($0.denom) }
    }

    /// The rescaled size of a `width` × `height` WebP: the short side made
    /// `minimumShortSide` (the aspect kept, rounded), or nil when the image is
    /// not larger than that.
    public func webpSize(width: Int, height: Int) -> (width: Int, height: Int)? {
        let short = min(width, height)
        guard short > minimumShortSide else { return nil }
        let s = Double(minimumShortSide) / Double(short)
        func side(_ v: Int) -> Int { v == short ? minimumShortSide : max(minimumShortSide, Int((Double(v) * s).rounded())) }
        return (side(width), side(height))
    }
}
