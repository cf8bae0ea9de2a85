import Foundation

/// The preprocessing an image encoder was trained with, done exactly as the
/// reference does it (torchvision `Resize(short side)` on a PIL image,
/// `CenterCrop`, `ToTensor`, `Normalize`), so features match the reference.
public struct ImagePreprocessing: Sendable, Equatable {
    /// The short side is resized to this (the long side keeps the aspect, truncated).
    public var resizeShortSide: Int
    public var cropSize: Int
    public var mean: [Float]
    public var std: [Float]
    /// The fixed-point arithmetic of the bicubic resize (see `PILResample.Precision`).
    public var resampling: PILResample.Precision
    /// How the centre crop's offset (excess / 2) is rounded: half to even for
    /// torchvision's `CenterCrop`, toward zero for transformers' image processors.
    public var cropRounding: FloatingPointRoundingRule

    public init(resizeShortSide: Int, cropSize: Int, mean: [Float], std: [Float],
                resampling: PILResample.Precision = .pillow, cropRounding: FloatingPointRoundingRule = .toNearestOrEven) {
        self.resizeShortSide = resizeShortSide; self.cropSize = cropSize; self.mean = mean; self.std = std
        self.resampling = resampling; self.cropRounding = cropRounding
    }

    /// The resized and centre-cropped RGB bytes (cropSize² × 3), before normalisation.
    public func resizedCrop(_ image: RGBAImage) -> [UInt8] {
        let (w, h) = (image.width, image.height)
        let (newW, newH): (Int, Int)
        if w <= h {
            newW = resizeShortSide
            newH = Int(Double(resizeShortSide) * Double(h) / Double(w))
        } else {
            newH = resizeShortSide
            newW = Int(Double(resizeShortSide) * Double(w) / Double(h))
        }
        // torchvision CenterCrop rounds half to even, as Python's round().
        let top = Int((Double(newH - cropSize) / 2).rounded(cropRounding))
        let left = Int((Double(newW - cropSize) / 2).rounded(cropRounding))
        // Only the pixels the crop keeps are resized; a crop larger than the
        // image pads with zeros (as torchvision does).
        let rows = max(0, top)..<min(newH, top + cropSize), columns = max(0, left)..<min(newW, left + cropSize)
        guard !rows.isEmpty, !columns.isEmpty else { return [UInt8](repeating: 0, count: cropSize * cropSize * 3) }
        let region = PILResample.bicubic(image, width: newW, height: newH, columns: columns, rows: rows, precision: resampling)
        if rows.count == cropSize && columns.count == cropSize { return region }
        var out = [UInt8](repeating: 0, count: cropSize * cropSize * 3)
        let rowBytes = columns.count * 3
        for (j, sy) in rows.enumerated() {
            let d = ((sy - top) * cropSize + (columns.lowerBound - left)) * 3
            out.replaceSubrange(d..<(d + rowBytes), with: region[(j * rowBytes)..<((j + 1) * rowBytes)])
        }
        return out
    }

    /// The model input: (cropSize, cropSize, 3) floats, (x/255 − mean)/std, channels last.
    public func tensor(_ image: RGBAImage) -> [Float] {
        let crop = resizedCrop(image)
        var out = [Float](repeating: 0, count: crop.count)
        let scale = (0..<3).map { 1 / (255 * std[$0]) }
        let shift = (0..<3).map { -mean[$0] / std[$0] }
        for i in 0..<crop.count {
            let c = i % 3
            out[i] = Float(crop[i]) * scale[c] + shift[c]
        }
        return out
    }
}

/// Pillow's resampling (libImaging/Resample.c) for 8-bit images, reproduced
/// exactly: separable convolution with the filter widened by the scale
/// factor (antialiasing), coefficients in 22-bit fixed point, a horizontal
/// pass rounded to 8 bits, then a vertical pass.
public enum PILResample {
    /// The fixed point of the filter taps. Pillow uses 22 fraction bits;
    /// torchvision's resize of uint8 tensors (`antialias=True`, the AVX2 path
    /// on x86-64) runs the same algorithm with int16 taps, as many fraction
    /// bits as the largest tap of the pass allows, so the two differ by a
    /// level or two on a few pixels.
    public enum Precision: Sendable, Equatable {
        case pillow
        case torchvisionUInt8
    }

    static let precisionBits = 22

    static func bicubicFilter(_ x: Double) -> Double {
        let a = -0.5
        let x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Per output index: first input index, tap count, and fixed-point taps
    /// with `bits` fraction bits.
    static func coefficients(inSize: Int, outSize: Int, precision: Precision = .pillow) -> (bounds: [(Int, Int)], ksize: Int, taps: [Int32], bits: Int) {
        let support = 2.0
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let width = support * filterScale
        let ksize = Int(width.rounded(.up)) * 2 + 1
        var bounds: [(Int, Int)] = []
        var taps = [Int32](repeating: 0, count: outSize * ksize)
        var k = [Double](repeating: 0, count: outSize * ksize)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let ss = 1 / filterScale
            let xmin = max(Int(center - width + 0.5), 0)
            let xmax = min(Int(center + width + 0.5), inSize) - xmin
            var ww = 0.0
            for x in 0..<xmax {
                let w = bicubicFilter((Double(x + xmin) - center + 0.5) * ss)
                k[xx * ksize + x] = w; ww += w
            }
            if ww != 0 { for x in 0..<xmax { k[xx * ksize + x] /= ww } }
            bounds.append((xmin, xmax))
        }
        var bits = precisionBits
        if precision == .torchvisionUInt8 {
            // The most fraction bits (< 22) that keep the largest tap below 2^15.
            let wmax = k.max() ?? 0
            bits = 0
            while bits < precisionBits && Int(0.5 + wmax * Double(1 << (bits + 1))) < (1 << 15) { bits += 1 }
        }
        for (i, v) in k.enumerated() {
            taps[i] = v < 0 ? Int32(-0.5 + v * Double(1 << bits)) : Int32(0.5 + v * Double(1 << bits))
        }
        return (bounds, ksize, taps, bits)
    }

    @inline(__always)
    static func clip8(_ v: Int32, bits: Int32) -> UInt8 {
        let s = v >> bits
        return s < 0 ? 0 : (s > 255 ? 255 : UInt8(s))
    }

    /// RGB bytes (width × height × 3) of `image` resized with Pillow's BICUBIC
    /// (or torchvision's uint8 bicubic with antialiasing, per `precision`).
    public static func bicubic(_ image: RGBAImage, width outW: Int, height outH: Int, precision: Precision = .pillow) -> [UInt8] {
        resample(image, width: outW, height: outH, precision: precision, channels: 3)
    }

    /// RGBA bytes (width × height × 4) of `image` resized with Pillow's
    /// BICUBIC, alpha filtered as the colours are (premultiply first, as
    /// Pillow does for RGBA, when transparent pixels must not bleed).
    public static func bicubicRGBA(_ image: RGBAImage, width outW: Int, height outH: Int) -> [UInt8] {
        resample(image, width: outW, height: outH, precision: .pillow, channels: 4)
    }

    /// The part `columns` × `rows` (output coordinates, inside
    /// `outW` × `outH`) of the RGB resize: byte for byte that region of
    /// `bicubic(image, width: outW, height: outH)`, at the cost of the
    /// region only (each output pixel depends on its own taps alone), so a
    /// centre crop does not pay for the resized pixels it throws away.
    public static func bicubic(_ image: RGBAImage, width outW: Int, height outH: Int, columns: Range<Int>, rows: Range<Int>,
                               precision: Precision = .pillow) -> [UInt8] {
        resample(image, width: outW, height: outH, columns: columns, rows: rows, precision: precision, channels: 3)
    }

    /// The separable resize, keeping the first `channels` (3 or 4) of each
    /// RGBA pixel, of the output region `columns` × `rows` (all of it by default).
    static func resample(_ image: RGBAImage, width outW: Int, height outH: Int, columns: Range<Int>? = nil, rows: Range<Int>? = nil,
                         precision: Precision, channels: Int) -> [UInt8] {
        precondition(channels == 3 || channels == 4, "3 or 4 channels")
        let cols = columns ?? 0..<outW, outRows = rows ?? 0..<outH
        precondition(cols.lowerBound >= 0 && cols.upperBound <= outW && outRows.lowerBound >= 0 && outRows.upperBound <= outH,
                     "the region lies inside the output")
        let c = channels, alpha = channels == 4
        let (inW, inH) = (image.width, image.height)
        let regionW = cols.count
        guard regionW > 0, !outRows.isEmpty else { return [] }
        // Horizontal pass over the input rows the region's vertical taps use.
        let vert = coefficients(inSize: inH, outSize: outH, precision: precision)
        // The taps' windows move forward with the output row: the region's first
        // and last rows bound the input rows it reads.
        let firstRow = vert.bounds[outRows.lowerBound].0
        let lastRow = vert.bounds[outRows.upperBound - 1].0 + vert.bounds[outRows.upperBound - 1].1
        let needH = outW != inW
        let tempRows = lastRow - firstRow
        var temp = [UInt8](repeating: 0, count: max(tempRows, 0) * regionW * c)
        image.pixels.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { dst in
                if needH {
                    let hor = coefficients(inSize: inW, outSize: outW, precision: precision)
                    let bits = Int32(hor.bits)
                    let half = SIMD4<Int32>(repeating: Int32(1) << (bits - 1))
                    hor.taps.withUnsafeBufferPointer { taps in
                        let raw = UnsafeRawPointer(src.baseAddress!)
                        for y in 0..<tempRows {
                            let row = (y + firstRow) * inW * 4
                            for (i, xx) in cols.enumerated() {
                                let (xmin, n) = hor.bounds[xx]
                                // The four channels of a pixel at once (alpha is dropped at the end for RGB).
                                var acc = half
                                let k0 = xx * hor.ksize
                                for x in 0..<n {
                                    let p = raw.loadUnaligned(fromByteOffset: row + (x + xmin) * 4, as: SIMD4<UInt8>.self)
                                    acc &+= SIMD4<Int32>(truncatingIfNeeded: p) &* taps[k0 + x]
                                }
                                let d = (y * regionW + i) * c
                                dst[d] = clip8(acc[0], bits: bits); dst[d + 1] = clip8(acc[1], bits: bits); dst[d + 2] = clip8(acc[2], bits: bits)
                                if alpha { dst[d + 3] = clip8(acc[3], bits: bits) }
                            }
                        }
                    }
                } else {
                    for y in 0..<tempRows {
                        for (i, x) in cols.enumerated() {
                            let p = ((y + firstRow) * inW + x) * 4, d = (y * regionW + i) * c
                            for ch in 0..<c { dst[d + ch] = src[p + ch] }
                        }
                    }
                }
            }
        }
        if outH == inH {
            // No vertical pass: the region's rows are the temp rows themselves.
            return Array(temp[((outRows.lowerBound - firstRow) * regionW * c)..<((outRows.upperBound - firstRow) * regionW * c)])
        }
        let bits = Int32(vert.bits), half = Int32(1) << (bits - 1)
        var out = [UInt8](repeating: 0, count: regionW * outRows.count * c)
        let width = regionW * c
        // Row by row: each tap adds a whole input row to a row of sums
        // (contiguous, so the loop runs over vectors).
        var sums = [Int32](repeating: 0, count: width)
        temp.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                sums.withUnsafeMutableBufferPointer { acc in
                    vert.taps.withUnsafeBufferPointer { taps in
                        for (j, yy) in outRows.enumerated() {
                            let (ymin, n) = vert.bounds[yy]
                            let y0 = ymin - firstRow
                            for x in 0..<width { acc[x] = half }
                            for y in 0..<n {
                                let k = taps[yy * vert.ksize + y]
                                let line = src.baseAddress! + (y + y0) * width
                                for x in 0..<width { acc[x] &+= Int32(line[x]) &* k }
                            }
                            let o = dst.baseAddress! + j * width
                            for x in 0..<width { o[x] = clip8(acc[x], bits: bits) }
                        }
                    }
                }
            }
        }
        return out
    }
}
