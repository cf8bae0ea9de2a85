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
}
