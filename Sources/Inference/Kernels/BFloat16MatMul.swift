import CDNNL
import Foundation
import Synchronization

/// A linear layer's weight, (out, in) as PyTorch's `nn.Linear` stores it,
/// rounded to bfloat16 once when a model loads (half the fp32 weight's
/// size). The fp32 tensor, a view of the model file, is read again only by
/// the fp32 fallback, so its pages are handed back once rounded (the
/// copy would otherwise add to the fp32 pages that reading it made
/// resident: 49 MB more for MiniLM in revsdd, bench/RESULTS.md).
public final class BFloat16Weight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    let bits: UnsafeMutablePointer<UInt16>

    public init(_ w: FloatTensor) {
        precondition(w.shape.count == 2, "BFloat16Weight: weight must be 2-D, got \(w.shape)")
        (outFeatures, inFeatures) = (w.shape[0], w.shape[1])
        bits = .allocate(capacity: w.count)
        BFloat16.round(w.pointer, into: bits, count: w.count)
        (w.owner as? MappedFile)?.releasePages(UnsafeRawPointer(w.pointer), length: w.count * MemoryLayout<Float>.size)
    }

    deinit { bits.deallocate() }
}

/// fp32 → bfloat16 (the upper 16 bits, rounded to nearest, ties to even).
public enum BFloat16 {
    /// `count` values of `x` rounded into `y`. Finite inputs only (the
    /// products' inputs are weights and activations).
    public static func round(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<UInt16>, count: Int) {
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i &+ 8 <= count {
            let u = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<UInt32>.self)
            let r = (u &+ 0x7FFF &+ ((u &>> 16) & 1)) &>> 16
            UnsafeMutableRawPointer(y + i).storeBytes(of: SIMD8<UInt16>(truncatingIfNeeded: r), as: SIMD8<UInt16>.self)
            i &+= 8
        }
        while i < count { y[i] = one(x[i]); i &+= 1 }
    }

    /// x's rows rounded into `scratch` (rows × cols, dense), split over the
    /// cores; returns `scratch`.
    public static func round(_ x: MatrixRef, into scratch: UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16> {
        let out = UncheckedSendable(scratch)
        Parallel.forEachChunk(x.rows, minChunk: max(1, 16_384 / max(1, x.cols))) { rows in
            if x.ld == x.cols {
                round(x.pointer + rows.lowerBound * x.cols, into: out.value + rows.lowerBound * x.cols, count: rows.count * x.cols)
            } else {
                for r in rows { round(x.pointer + r * x.ld, into: out.value + r * x.cols, count: x.cols) }
            }
        }
        return UnsafePointer(scratch)
    }

    @inline(__always)
    public static func one(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    /// The fp32 value of bfloat16 `bits`.
    @inline(__always)
    public static func value(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
}

/// Matrix products with bfloat16 inputs, fp32 accumulation and an fp32
/// result, through oneDNN's matmul (its JIT kernels use AVX-512 BF16's
/// `vdpbf16ps`, two multiply-adds per lane where fp32 FMA does one: on this
/// project's 2-core AMD EPYC, about 2× OpenBLAS's sgemm at the transformers'
/// shapes, bench/RESULTS.md). Used for the transformers' dense layers
/// (`TransformerEncoder`) where the CPU has AVX-512 BF16; elsewhere, or with
/// `REVSD_MATMUL=fp32` in the environment, everything stays on OpenBLAS.
/// Each call runs on the calling thread: revsd splits a product's columns
/// over its own pool, as with OpenBLAS.
public enum BFloat16MatMul {
    /// Whether products may run here in bfloat16: the CPU has AVX-512 BF16,
    /// `REVSD_MATMUL` is not `fp32`, oneDNN gives a CPU engine and a small
    /// product it computes agrees with the exact one.
    public static let isAvailable: Bool = {
        guard ProcessInfo.processInfo.environment["REVSD_MATMUL"] != "fp32",
              BLASKernelChoice.machineFlags.contains("avx512_bf16"), engine != nil else { return false }
        return selfCheck()
    }()

    /// Names the bfloat16 path's arithmetic for caches of its results:
    /// oneDNN's version and revsd's use of it (bump `fusion` when what the
    /// products fuse changes). Its results differ from fp32's, and from
    /// another version's, in the fifth decimal.
    public static let numerics: String = {
        let fusion = 1   // 1: bias and the MLP's activation fused into the products
        guard let v = dnnl_version()?.pointee else { return "bf16-fused\(fusion)" }
        return "bf16-onednn\(v.major).\(v.minor).\(v.patch)-fused\(fusion)"
    }()

    final class Engine: @unchecked Sendable {
        let handle: dnnl_engine_t
        init?() {
            var e: dnnl_engine_t?
            guard dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success, let e else { return nil }
            handle = e
        }
    }

    static let engine: Engine? = Engine()

    /// A compiled product for one shape, destroyed with its last reference.
    /// Its scratchpad is the caller's (`dnnl_scratchpad_mode_user`): with
    /// the library's own, shared by every primitive in oneDNN's default
    /// build, a primitive must run on the thread that created it, and
    /// revsd's pool threads take whichever part of a product comes.
    final class Primitive: @unchecked Sendable {
        let handle: dnnl_primitive_t
        let scratchpad: dnnl_memory_desc_t
        let scratchpadBytes: Int
        init(_ handle: dnnl_primitive_t, scratchpad: dnnl_memory_desc_t) {
            self.handle = handle
            self.scratchpad = scratchpad
            var md = scratchpad
            scratchpadBytes = dnnl_memory_desc_get_size(&md)
        }
        deinit { dnnl_primitive_destroy(handle) }
    }

    /// The calling thread's scratchpad, grown to the largest a product has
    /// asked of it (tens of kilobytes), freed with the thread.
    final class Scratch {
        var pointer: UnsafeMutableRawPointer?
        var bytes = 0
        func reserve(_ n: Int) -> UnsafeMutableRawPointer? {
            guard n > 0 else { return nil }
            if n > bytes {
                pointer?.deallocate()
                pointer = .allocate(byteCount: n, alignment: 64)
                bytes = n
            }
            return pointer
        }
        deinit { pointer?.deallocate() }
    }

    static let scratchKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, { if let p = $0 { Unmanaged<Scratch>.fromOpaque(p).release() } }) == 0, "pthread_key_create")
        return key
    }()

    static var threadScratch: Scratch {
        if let p = pthread_getspecific(scratchKey) { return Unmanaged<Scratch>.fromOpaque(p).takeUnretainedValue() }
        let s = Scratch()
        pthread_setspecific(scratchKey, Unmanaged.passRetained(s).toOpaque())
        return s
    }

    /// What the product applies to its sums before it stores them.
    public enum Activation: Hashable, Sendable {
        case none
        /// BERT's GELU, 0.5·x·(1 + erf(x/√2)).
        case gelu
        /// CLIP's quick_gelu, x·σ(1.702·x) (oneDNN's swish with α = 1.702).
        case quickGelu
    }

    struct Shape: Hashable { var m, k, n, ldw, ldy: Int; var accumulate: Bool; var bias: Bool; var activation: Activation }

    /// Primitives by shape. A forward pass meets a handful of shapes per
    /// batch (its token count by each layer's in and out sizes, per column
    /// part); the cache is emptied when it grows past `cacheLimit`.
    static let cache = Mutex<[Shape: Primitive]>([:])
    static let cacheLimit = 256

    static func descriptor(_ dims: (Int, Int), strides: (Int, Int), _ type: dnnl_data_type_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let status = dnnl_memory_desc_init_by_strides(&md, 2, [dnnl_dim_t(dims.0), dnnl_dim_t(dims.1)], type,
                                                      [dnnl_dim_t(strides.0), dnnl_dim_t(strides.1)])
        precondition(status == dnnl_success, "oneDNN: memory descriptor \(dims) strides \(strides): status \(status.rawValue)")
        return md
    }

    static func primitive(_ s: Shape) -> Primitive? {
        if let p = cache.withLock({ $0[s] }) { return p }
        guard let engine else { return nil }
        var src = descriptor((s.m, s.k), strides: (s.k, 1), dnnl_bf16)
        // W is (out, in) row-major: as the k × n operand, strides (1, ldw).
        var wei = descriptor((s.k, s.n), strides: (1, s.ldw), dnnl_bf16)
        var dst = descriptor((s.m, s.n), strides: (s.ldy, 1), dnnl_f32)
        var bias = descriptor((1, s.n), strides: (s.n, 1), dnnl_f32)
        var op = dnnl_matmul_desc_t()
        let made = s.bias ? dnnl_matmul_desc_init(&op, &src, &wei, &bias, &dst) : dnnl_matmul_desc_init(&op, &src, &wei, nil, &dst)
        guard made == dnnl_success else { return nil }
        var attr: dnnl_primitive_attr_t?
        guard dnnl_primitive_attr_create(&attr) == dnnl_success, let attr else { return nil }
        defer { dnnl_primitive_attr_destroy(attr) }
        guard dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success else { return nil }
        if s.accumulate || s.activation != .none {
            var ops: dnnl_post_ops_t?
            guard dnnl_post_ops_create(&ops) == dnnl_success, let ops else { return nil }
            defer { dnnl_post_ops_destroy(ops) }
            if s.accumulate { guard dnnl_post_ops_append_sum(ops, 1) == dnnl_success else { return nil } }
            switch s.activation {
            case .none: break
            case .gelu: guard dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_gelu_erf, 0, 0) == dnnl_success else { return nil }
            case .quickGelu: guard dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_swish, 1.702, 0) == dnnl_success else { return nil }
            }
            guard dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success else { return nil }
        }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &op, attr, engine.handle, nil) == dnnl_success, let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        guard let scratchpad = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0) else { return nil }
        var p: dnnl_primitive_t?
        guard dnnl_primitive_create(&p, pd) == dnnl_success, let p else { return nil }
        let primitive = Primitive(p, scratchpad: scratchpad.pointee)
        return cache.withLock { c in
            if c.count >= cacheLimit { c.removeAll() }
            if let other = c[s] { return other }
            c[s] = primitive
            return primitive
        }
    }

    /// y(m, columns) = act(x(m, k) · W[columns]ᵀ + bias[columns]), or
    /// y += x·W[columns]ᵀ + bias[columns] with `accumulate` (no activation
    /// then): x bfloat16 (m, k) dense, W `weight`'s rows `columns`, `bias`
    /// pointing at its value for `columns.lowerBound` (nil: none), y fp32
    /// with leading dimension `ldy`, pointing at its column
    /// `columns.lowerBound`. On the calling thread. Returns false (nothing
    /// written) where oneDNN refuses the shape; the caller then computes it in fp32.
    @discardableResult
    static func product(_ x: UnsafePointer<UInt16>, rows m: Int, weight: BFloat16Weight, columns: Range<Int>,
                        bias: UnsafePointer<Float>? = nil, into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool,
                        activation: Activation = .none) -> Bool {
        precondition(!(accumulate && activation != .none), "an activation applies to a product, not to a sum onto y")
        let k = weight.inFeatures
        guard m > 0, !columns.isEmpty else { return true }
        guard let engine, let p = primitive(Shape(m: m, k: k, n: columns.count, ldw: k, ldy: ldy, accumulate: accumulate,
                                                  bias: bias != nil, activation: activation)) else { return false }
        revsd_omp_single_thread()
        var src = descriptor((m, k), strides: (k, 1), dnnl_bf16)
        var wei = descriptor((k, columns.count), strides: (1, k), dnnl_bf16)
        var dst = descriptor((m, columns.count), strides: (ldy, 1), dnnl_f32)
        var ms: dnnl_memory_t?, mw: dnnl_memory_t?, md: dnnl_memory_t?, mp: dnnl_memory_t?, mb: dnnl_memory_t?, stream: dnnl_stream_t?
        defer {
            for mem in [ms, mw, md, mp, mb] { if let mem { dnnl_memory_destroy(mem) } }
            if let stream { dnnl_stream_destroy(stream) }
        }
        guard dnnl_memory_create(&ms, &src, engine.handle, UnsafeMutableRawPointer(mutating: x)) == dnnl_success,
              dnnl_memory_create(&mw, &wei, engine.handle, UnsafeMutableRawPointer(weight.bits + columns.lowerBound * k)) == dnnl_success,
              dnnl_memory_create(&md, &dst, engine.handle, UnsafeMutableRawPointer(y)) == dnnl_success,
              dnnl_stream_create(&stream, engine.handle, dnnl_stream_default_flags.rawValue) == dnnl_success,
              let ms, let mw, let md, let stream else { return false }
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: ms), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: mw),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: md)]
        if let bias {
            var md = descriptor((1, columns.count), strides: (columns.count, 1), dnnl_f32)
            guard dnnl_memory_create(&mb, &md, engine.handle, UnsafeMutableRawPointer(mutating: bias)) == dnnl_success, let mb else { return false }
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: mb))
        }
        if p.scratchpadBytes > 0 {
            var scratchpad = p.scratchpad
            guard dnnl_memory_create(&mp, &scratchpad, engine.handle, threadScratch.reserve(p.scratchpadBytes)) == dnnl_success,
                  let mp else { return false }
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: mp))
        }
        guard dnnl_primitive_execute(p.handle, stream, Int32(args.count), &args) == dnnl_success else { return false }
        return dnnl_stream_wait(stream) == dnnl_success
    }

    /// y(n, out) = act(x(n, in) · Wᵀ + bias) (+ residual), as `BLAS.linear`
    /// computes it in fp32, with the product in bfloat16: x is rounded into
    /// `scratch` ((n, in), dense) on the cores (or `rounded` is x already
    /// rounded), then each core computes its columns, the bias and the
    /// activation applied by oneDNN as it stores them. `residual` (n, out),
    /// dense, may alias y; with a residual there is no activation. A part
    /// oneDNN refuses is computed in fp32 from `weight`.
    public static func linear(_ x: MatrixRef, weight: FloatTensor, rounded w: BFloat16Weight, bias: FloatTensor?,
                              residual: UnsafePointer<Float>? = nil, into y: MutableMatrixRef, activation: Activation = .none,
                              scratch: UnsafeMutablePointer<UInt16>, rounded x16: UnsafePointer<UInt16>? = nil) {
        let (outF, inF) = (w.outFeatures, w.inFeatures)
        precondition(weight.shape == [outF, inF] && x.cols == inF && y.cols == outF && y.rows == x.rows,
                     "linear: x \(x.rows)x\(x.cols), W \(weight.shape), y \(y.rows)x\(y.cols)")
        if let bias { precondition(bias.count == outF, "linear: bias has \(bias.count) values, expected \(outF)") }
        precondition(residual == nil || activation == .none, "linear: a residual and an activation")
        let input = UncheckedSendable(x16 ?? BFloat16.round(x, into: scratch))
        func part(_ cols: Range<Int>) {
            let lo = cols.lowerBound
            if let residual, residual != UnsafePointer(y.pointer) {
                for r in 0..<y.rows { (y.pointer + r * y.ld + lo).update(from: residual + r * outF + lo, count: cols.count) }
            }
            if product(input.value, rows: x.rows, weight: w, columns: cols, bias: bias.map { $0.pointer + lo }, into: y.pointer + lo, ldy: y.ld,
                       accumulate: residual != nil, activation: activation) { return }
            BLAS.linear(x, weight: weight, bias: bias, residual: residual, into: y, columns: cols) { p, n in
                switch activation {
                case .none: break
                case .gelu: MathKernels.gelu(p, count: n)
                case .quickGelu: MathKernels.quickGelu(p, count: n)
                }
            }
        }
        if BLAS.columnParts(m: x.rows, n: outF, k: inF) > 1 { BLAS.forEachColumnPart(m: x.rows, n: outF, k: inF, part) } else { part(0..<outF) }
    }

    /// A 3 × 40 by 40 × 24 product against the exact sum of the rounded
    /// inputs, before anything trusts the path.
    static func selfCheck() -> Bool {
        let (m, k, n) = (3, 40, 24)
        let xs = (0..<(m * k)).map { Float(($0 * 7919) % 23) / 23 - 0.5 }
        let ws = (0..<(n * k)).map { Float(($0 * 104_729) % 31) / 31 - 0.5 }
        let w = FloatTensor(shape: [n, k], values: ws)
        let weight = BFloat16Weight(w)
        var x16 = [UInt16](repeating: 0, count: m * k)
        xs.withUnsafeBufferPointer { BFloat16.round($0.baseAddress!, into: &x16, count: m * k) }
        var y = [Float](repeating: 1, count: m * n)
        let ok = x16.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { product(xp.baseAddress!, rows: m, weight: weight, columns: 0..<n, into: $0.baseAddress!, ldy: n, accumulate: true) }
        }
        guard ok else { return false }
        for r in 0..<m {
            for c in 0..<n {
                var s: Float = 1
                for j in 0..<k { s += BFloat16.value(x16[r * k + j]) * BFloat16.value(weight.bits[c * k + j]) }
                if abs(s - y[r * n + c]) > 1e-3 { return false }
            }
        }
        return true
    }
}
