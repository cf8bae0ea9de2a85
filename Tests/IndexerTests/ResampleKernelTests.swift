import XCTest
@testable import Imaging

/// The vectorised resize against the scalar loops it replaced (the ones
/// checked against Pillow and timm in EfficientNetTests): byte for byte, on
/// random images, down and up, both precisions, RGB and RGBA.
final class ResampleKernelTests: XCTestCase {
    /// The scalar separable resize as it was: per output pixel, per channel,
    /// taps summed in 32-bit wrapping arithmetic.
    static func scalarResample(_ image: RGBAImage, width outW: Int, height outH: Int,
                               precision: PILResample.Precision, channels c: Int) -> [UInt8] {
        let (inW, inH) = (image.width, image.height)
        let vert = PILResample.coefficients(inSize: inH, outSize: outH, precision: precision)
        let firstRow = vert.bounds.first!.0
        let lastRow = vert.bounds.last!.0 + vert.bounds.last!.1
        let rows = lastRow - firstRow
        var temp = [UInt8](repeating: 0, count: rows * outW * c)
        if outW != inW {
            let hor = PILResample.coefficients(inSize: inW, outSize: outW, precision: precision)
            let bits = Int32(hor.bits), half = Int32(1) << (bits - 1)
            for y in 0..<rows {
                for xx in 0..<outW {
                    let (xmin, n) = hor.bounds[xx]
                    for ch in 0..<c {
                        var s = half
                        for x in 0..<n {
                            s &+= Int32(image.pixels[((y + firstRow) * inW + x + xmin) * 4 + ch]) &* hor.taps[xx * hor.ksize + x]
                        }
                        temp[(y * outW + xx) * c + ch] = PILResample.clip8(s, bits: bits)
                    }
                }
            }
        } else {
            for y in 0..<rows { for x in 0..<inW { for ch in 0..<c { temp[(y * outW + x) * c + ch] = image.pixels[((y + firstRow) * inW + x) * 4 + ch] } } }
        }
        if outH == inH { return temp }
        let bits = Int32(vert.bits), half = Int32(1) << (bits - 1)
        var out = [UInt8](repeating: 0, count: outW * outH * c)
        for yy in 0..<outH {
            let (ymin, n) = vert.bounds[yy]
            for x in 0..<(outW * c) {
                var s = half
                for y in 0..<n { s &+= Int32(temp[(y + ymin - firstRow) * outW * c + x]) &* vert.taps[yy * vert.ksize + y] }
                out[yy * outW * c + x] = PILResample.clip8(s, bits: bits)
            }
        }
        return out
    }

    func testVectorisedResizeEqualsTheScalarLoops() {
        var rng = SystemRandomNumberGenerator()
        let sizes: [(Int, Int, Int, Int)] = [(512, 512, 256, 256), (517, 389, 240, 180), (64, 48, 299, 224),
                                             (7, 300, 7, 150), (300, 7, 150, 7), (1, 1, 3, 3)]
        for (w, h, ow, oh) in sizes {
            // Sharp edges and full-range noise: the taps' negative lobes push sums past 0 and 255.
            let pixels = (0..<(w * h * 4)).map { i in i % 7 == 0 ? UInt8(255) : UInt8.random(in: 0...255, using: &rng) }
            let image = RGBAImage(width: w, height: h, pixels: pixels)
            for precision in [PILResample.Precision.pillow, .torchvisionUInt8] {
                XCTAssertEqual(PILResample.bicubic(image, width: ow, height: oh, precision: precision),
                               Self.scalarResample(image, width: ow, height: oh, precision: precision, channels: 3),
                               "RGB \(w)×\(h) → \(ow)×\(oh), \(precision)")
            }
            XCTAssertEqual(PILResample.bicubicRGBA(image, width: ow, height: oh),
                           Self.scalarResample(image, width: ow, height: oh, precision: .pillow, channels: 4),
                           "RGBA \(w)×\(h) → \(ow)×\(oh)")
        }
    }

    /// A region of the resize is that region of the whole resize, byte for
    /// byte: the centre crop of the encoders' preprocessing computes only
    /// what it keeps.
    func testARegionOfTheResizeIsThatRegionOfTheWholeResize() {
        var rng = SystemRandomNumberGenerator()
        let cases: [(Int, Int, Int, Int)] = [(512, 512, 256, 256), (517, 389, 274, 206), (64, 48, 299, 224),
                                             (300, 7, 150, 7), (7, 300, 7, 150), (40, 40, 40, 40)]
        for (w, h, ow, oh) in cases {
            let pixels = (0..<(w * h * 4)).map { i in i % 5 == 0 ? UInt8(0) : UInt8.random(in: 0...255, using: &rng) }
            let image = RGBAImage(width: w, height: h, pixels: pixels)
            for precision in [PILResample.Precision.pillow, .torchvisionUInt8] {
                let whole = PILResample.bicubic(image, width: ow, height: oh, precision: precision)
                for _ in 0..<4 {
                    let x0 = Int.random(in: 0..<ow, using: &rng), y0 = Int.random(in: 0..<oh, using: &rng)
                    let columns = x0..<Int.random(in: (x0 + 1)...ow, using: &rng), rows = y0..<Int.random(in: (y0 + 1)...oh, using: &rng)
                    let expected = rows.flatMap { y in whole[((y * ow + columns.lowerBound) * 3)..<((y * ow + columns.upperBound) * 3)] }
                    XCTAssertEqual(PILResample.bicubic(image, width: ow, height: oh, columns: columns, rows: rows, precision: precision),
                                   expected, "\(w)×\(h) → \(ow)×\(oh), columns \(columns), rows \(rows), \(precision)")
                }
            }
        }
    }

    /// The encoders' resize-and-crop equals resizing the whole image and
    /// cropping it (zeros where the crop is larger than the resized image).
    func testTheCentreCropEqualsCroppingTheWholeResize() {
        var rng = SystemRandomNumberGenerator()
        for (w, h) in [(512, 512), (768, 512), (333, 999), (20, 10), (256, 256)] {
            let image = RGBAImage(width: w, height: h, pixels: (0..<(w * h * 4)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            for prep in [ImagePreprocessing(resizeShortSide: 256, cropSize: 224, mean: [0, 0, 0], std: [1, 1, 1]),
                         ImagePreprocessing(resizeShortSide: 224, cropSize: 224, mean: [0, 0, 0], std: [1, 1, 1], cropRounding: .towardZero),
                         ImagePreprocessing(resizeShortSide: 200, cropSize: 240, mean: [0, 0, 0], std: [1, 1, 1])] {
                let (newW, newH) = w <= h ? (prep.resizeShortSide, Int(Double(prep.resizeShortSide) * Double(h) / Double(w)))
                                          : (Int(Double(prep.resizeShortSide) * Double(w) / Double(h)), prep.resizeShortSide)
                let whole = PILResample.bicubic(image, width: newW, height: newH)
                let top = Int((Double(newH - prep.cropSize) / 2).rounded(prep.cropRounding))
                let left = Int((Double(newW - prep.cropSize) / 2).rounded(prep.cropRounding))
                var expected = [UInt8](repeating: 0, count: prep.cropSize * prep.cropSize * 3)
                for y in 0..<prep.cropSize {
                    for x in 0..<prep.cropSize {
                        let sy = y + top, sx = x + left
                        guard sy >= 0, sy < newH, sx >= 0, sx < newW else { continue }
                        for ch in 0..<3 { expected[(y * prep.cropSize + x) * 3 + ch] = whole[(sy * newW + sx) * 3 + ch] }
                    }
                }
                XCTAssertEqual(prep.resizedCrop(image), expected, "\(w)×\(h), short side \(prep.resizeShortSide), crop \(prep.cropSize)")
            }
        }
    }
}
