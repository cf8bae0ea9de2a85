#if canImport(Glibc)
import Glibc
#endif

/// EfficientNet-Lite's depthwise convolution, eight channels at a time (the
/// interior four outputs at once, the edges one by one): this target alone
/// is compiled for AVX2 (`-mavx2`, Package.swift), so only call it where the
/// CPU has AVX2 (`EfficientNetLite.depthwise` checks once). Nothing here is @inlinable:
/// inlined into a caller, it would be compiled for that caller's target.
///
/// Each output sums the bias, then the window row by row, with a separate
/// multiply and add (no fused multiply-add), in the same order as the SSE
/// path in Inference: the results agree with it to the bit.
public enum DepthwiseAVX2 {
    /// Outputs ox…ox+3 of one output row, all `C` channels (C a multiple of
    /// 8), windows wholly inside the image, for a k×k window (k = 3 or 5
    /// unroll; others run the same loop). Channels last: x (side, side, C),
    /// weights (k·k, C), dst (4, C) of the output row.
    /// `inRow0` points at the window's top-left input (row iy0, column ix0,
    /// channel 0); `step` = stride·C.
    public static func fourOutputs(_ inRow0: UnsafePointer<Float>, rowStride: Int, step: Int, C: Int, k: Int,
                                   w: UnsafePointer<Float>, bias: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        switch k {
        case 3: four(inRow0, rowStride: rowStride, step: step, C: C, k: 3, w: w, bias: bias, into: dst)
        case 5: four(inRow0, rowStride: rowStride, step: step, C: C, k: 5, w: w, bias: bias, into: dst)
        default: four(inRow0, rowStride: rowStride, step: step, C: C, k: k, w: w, bias: bias, into: dst)
        }
    }

    @inline(__always)
    static func four(_ inRow0: UnsafePointer<Float>, rowStride: Int, step: Int, C: Int, k: Int,
                     w: UnsafePointer<Float>, bias: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let step2: Int = 2 &* step, step3: Int = 3 &* step
        var ch = 0
        while ch < C {
            let b = load8(bias + ch)
            var a0 = b, a1 = b, a2 = b, a3 = b
            for ky in 0..<k {
                let rowIn = inRow0 + (ky &* rowStride &+ ch), rowW = w + (ky &* k &* C &+ ch)
                for kx in 0..<k {
                    let off: Int = kx &* C
                    let wv = load8(rowW + off)
                    let p = rowIn + off
                    a0 += load8(p) * wv
                    a1 += load8(p + step) * wv
                    a2 += load8(p + step2) * wv
                    a3 += load8(p + step3) * wv
                }
            }
            store8(relu6(a0), to: dst + ch)
            store8(relu6(a1), to: dst + (C &+ ch))
            store8(relu6(a2), to: dst + (2 &* C &+ ch))
            store8(relu6(a3), to: dst + (3 &* C &+ ch))
            ch &+= 8
        }
    }

    /// Outputs ox…ox+3 of output row oy, all `C` channels (a multiple of 8),
    /// for windows that may cross the image's edges (TF "same" padding):
    /// window rows outside the image are skipped, and a tap left or right of
    /// the image reads `zeros` (at least `C` zero floats) instead, so it adds
    /// 0 × w, which leaves the sum as skipping it would (but for the sign of
    /// a zero). The sums run in the same order as `oneOutput`'s. At the
    /// small late layers (7×7, 14×14) most outputs are edges, and this way
    /// each weight vector is loaded once for four of them, not once for each.
    public static func fourClipped(_ x: UnsafePointer<Float>, side: Int, C: Int, k: Int, s: Int, pad: Int, oy: Int, ox: Int,
                                   zeros: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                   into dst: UnsafeMutablePointer<Float>) {
        switch k {
        case 3: clipped(x, side: side, C: C, k: 3, s: s, pad: pad, oy: oy, ox: ox, zeros: zeros, w: w, bias: bias, into: dst)
        case 5: clipped(x, side: side, C: C, k: 5, s: s, pad: pad, oy: oy, ox: ox, zeros: zeros, w: w, bias: bias, into: dst)
        default: clipped(x, side: side, C: C, k: k, s: s, pad: pad, oy: oy, ox: ox, zeros: zeros, w: w, bias: bias, into: dst)
        }
    }

    @inline(__always)
    static func clipped(_ x: UnsafePointer<Float>, side: Int, C: Int, k: Int, s: Int, pad: Int, oy: Int, ox: Int,
                        zeros: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        into dst: UnsafeMutablePointer<Float>) {
        let iy0 = oy &* s &- pad
        let kyLo = max(0, -iy0), kyHi = min(k, side &- iy0)
        let rows = max(0, kyHi &- kyLo)
        // Where each tap of each of the four outputs reads, channel 0:
        // (rows, k, 4), the zeros for a column outside the image.
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: max(1, rows &* k &* 4)) { at in
            for r in 0..<rows {
                let rowStart = x + (iy0 &+ kyLo &+ r) &* side &* C
                for kx in 0..<k {
                    for j in 0..<4 {
                        let ix = (ox &+ j) &* s &- pad &+ kx
                        at[(r &* k &+ kx) &* 4 &+ j] = ix >= 0 && ix < side ? rowStart + ix &* C : zeros
                    }
                }
            }
            var ch = 0
            while ch < C {
                let b = load8(bias + ch)
                var a0 = b, a1 = b, a2 = b, a3 = b
                for r in 0..<rows {
                    let rowW = w + ((kyLo &+ r) &* k &* C &+ ch)
                    for kx in 0..<k {
                        let wv = load8(rowW + kx &* C)
                        let t = (r &* k &+ kx) &* 4
                        a0 += load8(at[t] + ch) * wv
                        a1 += load8(at[t &+ 1] + ch) * wv
                        a2 += load8(at[t &+ 2] + ch) * wv
                        a3 += load8(at[t &+ 3] + ch) * wv
                    }
                }
                store8(relu6(a0), to: dst + ch)
                store8(relu6(a1), to: dst + (C &+ ch))
                store8(relu6(a2), to: dst + (2 &* C &+ ch))
                store8(relu6(a3), to: dst + (3 &* C &+ ch))
                ch &+= 8
            }
        }
    }

    /// One output pixel (oy, ox), all `C` channels (a multiple of 8), its
    /// window clipped to the image (zero outside, TF "same" padding): the
    /// taps inside are summed in the same order as the SSE edge path.
    public static func oneOutput(_ x: UnsafePointer<Float>, side: Int, C: Int, k: Int, s: Int, pad: Int, oy: Int, ox: Int,
                                 w: UnsafePointer<Float>, bias: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let iy0 = oy &* s &- pad, ix0 = ox &* s &- pad
        let kyLo = max(0, -iy0), kyHi = min(k, side &- iy0)
        let kxLo = max(0, -ix0), kxHi = min(k, side &- ix0)
        var ch = 0
        while ch < C {
            var acc = load8(bias + ch)
            if kyLo < kyHi && kxLo < kxHi {
                for ky in kyLo..<kyHi {
                    let rowAt: Int = (iy0 &+ ky) &* side &+ ix0, tapAt: Int = ky &* k
                    for kx in kxLo..<kxHi {
                        acc += load8(x + ((rowAt &+ kx) &* C &+ ch)) * load8(w + ((tapAt &+ kx) &* C &+ ch))
                    }
                }
            }
            store8(relu6(acc), to: dst + ch)
            ch &+= 8
        }
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        var v = SIMD8<Float>()
        memcpy(&v, p, 32)
        return v
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, to p: UnsafeMutablePointer<Float>) {
        var v = v
        memcpy(p, &v, 32)
    }

    @inline(__always)
    static func relu6(_ v: SIMD8<Float>) -> SIMD8<Float> {
        var v = v
        v.replace(with: 0, where: v .< 0)
        v.replace(with: 6, where: v .> 6)
        return v
    }
}
