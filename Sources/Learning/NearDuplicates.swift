import Foundation
import Inference

/// Library images that are near-duplicates of evaluated images: the same
/// picture saved again (re-encoded, resized, its metadata stripped), found
/// by the cosine of the images' pixel signatures (`Imaging.PixelSignature`:
/// 32 × 32 RGB, each channel less its mean, unit length). `eval` leaves
/// them out of its fresh training run and of the caption bank as it leaves
/// out identical files, so it never scores a picture it trained on.
///
/// The threshold was chosen by measurement (`revsd-bench neardup`, December
/// 2026: the 99 fixtures of ../shared/fixtures/sd-meta of at least 32 px,
/// each saved again five ways (`ResavedCopy`), and 30 synthetic prompts × 3
/// seeds). Cosine of the signatures:
///
///   pairs                                     n     min    p01    median  max     ≥ 0.98
///   copy, JPEG 95                            99   0.962  0.962  1.000   1.000   97
///   copy, JPEG 75                            99   0.933  0.933  1.000   1.000   97
///   copy, half size, JPEG 90                 99   0.918  0.918  1.000   1.000   97
///   copy, 512 px WebP 75                     99   0.884  0.884  1.000   1.000   97
///   copy, quarter size, JPEG 60              99   0.523  0.523  1.000   1.000   96
///   one picture in two fixture files          1   1.000                         1
///   distinct fixtures, other prompts       4559  −0.486 −0.327  0.021   0.826    0
///   distinct fixtures, same prompt          291  −0.308 −0.284  0.096   0.998    2
///   synthetic seed variations (one prompt)   90  −0.033 −0.033  0.517   0.973    0
///   synthetic, other prompts               3915  −0.512 −0.248  0.006   0.657    0
///
/// At 0.98, 484 of the 495 copies are caught; the misses are the ten copies
/// of the two NovelAI samples (naipy__sample-0316/0317: 0.52–0.96; their
/// alpha channel is dropped by JPEG) and the quarter-size copy of
/// sdparsers' A1111 stealth sample (0.896). No distinct picture is caught
/// but for the two pairs of one Civitai picture saved at its hires-fix and
/// upscaled sizes (0.998): the same picture at another size, rightly a
/// near-duplicate. Other pictures of one prompt (seed variations, other
/// front-ends' generations) are at most 0.447 at p99; the closest distinct
/// real pair is 0.826, the closest synthetic seed variations (one flat
/// shape moved a few pixels) 0.973. EfficientNet-Lite0 pooled features were
/// measured too and do not separate them: copies down to 0.34 (quarter
/// size), distinct pictures up to 0.944, synthetic seed variations at a
/// median of 0.952.
public enum NearDuplicates {
    /// Cosine of pixel signatures at or above which two images are one picture.
    public static let threshold: Float = 0.98

    /// For each library row (`library`: (n, d)), whether its cosine to some
    /// query row (`queries`: (q, d)) is at least `threshold`. Rows need not
    /// be unit length; a zero row matches nothing. Blocks of library rows
    /// keep the cosine matrix small (q × 2048).
    public static func matches(queries: [Float], library: [Float], dimension d: Int,
                               threshold: Float = threshold) -> [Bool] {
        precondition(d > 0 && queries.count % d == 0 && library.count % d == 0, "rows of \(d) values")
        let q = queries.count / d, n = library.count / d
        guard q > 0, n > 0 else { return [Bool](repeating: false, count: n) }
        var a = queries, b = library
        VectorMath.l2NormalizeRows(&a, cols: d)
        VectorMath.l2NormalizeRows(&b, cols: d)
        var out = [Bool](repeating: false, count: n)
        let block = 2048
        var cos = [Float](repeating: 0, count: q * min(block, n))   // (q, block)
        for lo in stride(from: 0, to: n, by: block) {
            let rows = min(block, n - lo)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    cos.withUnsafeMutableBufferPointer { pc in
                        BLAS.gemm(MatrixRef(pa.baseAddress!, rows: q, cols: d),
                                  MatrixRef(pb.baseAddress! + lo * d, rows: rows, cols: d), transposeB: true,
                                  MutableMatrixRef(pc.baseAddress!, rows: q, cols: rows))
                    }
                }
            }
            for j in 0..<rows {
                for i in 0..<q where cos[i * rows + j] >= threshold { out[lo + j] = true; break }
            }
        }
        return out
    }
}
