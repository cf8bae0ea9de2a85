import InferenceAVX2

extension EfficientNetLite {
    /// Whether the depthwise convolutions run eight channels at a time
    /// (`DepthwiseAVX2`, for channel counts that are multiples of 8): where
    /// the CPU has AVX2 (Linux lists it only where the kernel saves the AVX
    /// state).
    static let depthwiseAVX2 = BLASKernelChoice.machineFlags.contains("avx2")

    /// Depthwise k×k convolution with bias and ReLU6, channels last:
    /// x (side, side, C) → y (out, out, C), weights (k·k, C), vectorised over
    /// channels. Each output sums bias, then the window row by row, in the
    /// same order on every path, so the paths agree to the bit.
    static func depthwise(_ x: UnsafeMutablePointer<Float>, side: Int, conv c: Conv, out: Int, pad: Int,
                          into y: UnsafeMutablePointer<Float>, avx2: Bool = depthwiseAVX2) {
        c.weight.withUnsafeBufferPointer { wb in
            c.bias.withUnsafeBufferPointer { bb in
                let w = wb.baseAddress!, bias = bb.baseAddress!
                // The window sizes of these models, as constants, so the window loops unroll.
                switch c.k {
                case 3: depthwiseRows(x, side: side, C: c.cout, k: 3, s: c.stride, out: out, pad: pad, w: w, bias: bias, avx2: avx2, into: y)
                case 5: depthwiseRows(x, side: side, C: c.cout, k: 5, s: c.stride, out: out, pad: pad, w: w, bias: bias, avx2: avx2, into: y)
                default: depthwiseRows(x, side: side, C: c.cout, k: c.k, s: c.stride, out: out, pad: pad, w: w, bias: bias, avx2: avx2, into: y)
                }
            }
        }
    }

    @inline(__always)
    static func depthwiseRows(_ x: UnsafeMutablePointer<Float>, side: Int, C: Int, k: Int, s: Int, out: Int, pad: Int,
                              w: UnsafePointer<Float>, bias: UnsafePointer<Float>, avx2: Bool, into y: UnsafeMutablePointer<Float>) {
        let eightWide = avx2 && C % 8 == 0
        // Output columns whose whole window lies inside the image.
        let firstInside = (pad + s - 1) / s
        let lastInside = side - k + pad >= 0 ? min(out - 1, (side - k + pad) / s) : -1
        let fourAtEdges = eightWide && out >= 4 && C <= edgeZeros.count
        edgeZeros.withUnsafeBufferPointer { zb in
            let zeros = zb.baseAddress!
            Parallel.forEachChunk(out, minChunk: 2) { rows in
                for oy in rows {
                    let iy0 = oy &* s &- pad
                    let rowInside = iy0 >= 0 && iy0 &+ k <= side && C % 4 == 0
                    var ox = 0
                    while ox < out {
                        let at: Int = (oy &* out &+ ox) &* C
                        let dst = y + at
                        if rowInside && ox >= firstInside && ox &+ 3 <= lastInside {
                            // Four neighbours at once, four channels at a time (one
                            // SSE register each, so the sums stay in registers):
                            // each weight vector is loaded once for the four.
                            let ix0 = ox &* s &- pad
                            let step: Int = s &* C, step2: Int = 2 &* step, step3: Int = 3 &* step
                            if eightWide {
                                DepthwiseAVX2.fourOutputs(x + ((iy0 &* side &+ ix0) &* C), rowStride: side &* C, step: step, C: C, k: k,
                                                          w: w, bias: bias, into: dst)
                                ox &+= 4
                                continue
                            }
                            var ch = 0
                            while ch < C {
                                let b = load4(bias + ch)
                                var a0 = b, a1 = b, a2 = b, a3 = b
                                for ky in 0..<k {
                                    let inRow: Int = ((iy0 &+ ky) &* side &+ ix0) &* C &+ ch, wRow: Int = ky &* k &* C &+ ch
                                    let rowIn = x + inRow, rowW = w + wRow
                                    for kx in 0..<k {
                                        let off: Int = kx &* C
                                        let wv = load4(rowW + off)
                                        let p = rowIn + off
                                        a0 += load4(p) * wv
                                        a1 += load4(p + step) * wv
                                        a2 += load4(p + step2) * wv
                                        a3 += load4(p + step3) * wv
                                    }
                                }
                                store4(relu6(a0), to: dst + ch)
                                store4(relu6(a1), to: dst + (C &+ ch))
                                store4(relu6(a2), to: dst + (2 &* C &+ ch))
                                store4(relu6(a3), to: dst + (3 &* C &+ ch))
                                ch &+= 4
                            }
                            ox &+= 4
                            continue
                        }
                        if fourAtEdges {
                            // Four at once at the edges too (the last four of the
                            // row where fewer remain: an output computed twice
                            // comes out equal both times).
                            let first = min(ox, out &- 4)
                            DepthwiseAVX2.fourClipped(x, side: side, C: C, k: k, s: s, pad: pad, oy: oy, ox: first, zeros: zeros,
                                                      w: w, bias: bias, into: y + (oy &* out &+ first) &* C)
                            ox = first &+ 4
                            continue
                        }
                        if eightWide {
                            DepthwiseAVX2.oneOutput(x, side: side, C: C, k: k, s: s, pad: pad, oy: oy, ox: ox, w: w, bias: bias, into: dst)
                        } else {
                            edge(x, side: side, C: C, k: k, s: s, pad: pad, oy: oy, ox: ox, w: w, bias: bias, into: dst)
                        }
                        ox &+= 1
                    }
                }
            }
        }
    }

    /// What a tap outside the image reads on the AVX2 edge path: zeros for
    /// up to 4,096 channels (a wider layer takes the one-by-one path).
    static let edgeZeros = [Float](repeating: 0, count: 4096)

    /// One output pixel with its window checked against the image's edges
    /// (zero outside, TF "same" padding).
    @inline(__always)
    static func edge(_ x: UnsafeMutablePointer<Float>, side: Int, C: Int, k: Int, s: Int, pad: Int, oy: Int, ox: Int,
                     w: UnsafePointer<Float>, bias: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        var ch = 0
        while ch &+ 4 <= C {
            var acc = load4(bias + ch)
            for ky in 0..<k {
                let iy = oy &* s &+ ky &- pad
                if iy < 0 || iy >= side { continue }
                for kx in 0..<k {
                    let ix = ox &* s &+ kx &- pad
                    if ix < 0 || ix >= side { continue }
                    let at: Int = (iy &* side &+ ix) &* C &+ ch, tap: Int = (ky &* k &+ kx) &* C &+ ch
                    let xv = load4(x + at)
                    acc += xv * load4(w + tap)
                }
            }
            store4(relu6(acc), to: dst + ch)
            ch &+= 4
        }
        while ch < C {
            var acc = bias[ch]
            for ky in 0..<k {
                let iy = oy &* s &+ ky &- pad
                if iy < 0 || iy >= side { continue }
                for kx in 0..<k {
                    let ix = ox &* s &+ kx &- pad
                    if ix < 0 || ix >= side { continue }
                    let at: Int = (iy &* side &+ ix) &* C &+ ch, tap: Int = (ky &* k &+ kx) &* C &+ ch
                    acc += x[at] * w[tap]
                }
            }
            dst[ch] = min(max(acc, 0), 6)
            ch &+= 1
        }
    }

    /// ReLU6 with masks: clamped(lowerBound:upperBound:) is not inlined here.
    @inline(__always)
    static func relu6(_ v: SIMD4<Float>) -> SIMD4<Float> {
        var v = v
        v.replace(with: 0, where: v .< 0)
        v.replace(with: 6, where: v .> 6)
        return v
    }
}
