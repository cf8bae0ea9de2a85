#if canImport(Glibc)
import Glibc
#endif

/// Four floats from any address, as one unaligned vector load.
///
/// `UnsafeRawPointer.loadUnaligned(as:)` is the same load, but in a large
/// function (the depthwise kernels, whose window loops unroll) the optimiser
/// stopped inlining it: 45 calls to an out-of-line `movups; ret`, 14 % of
/// phase 2's time. A 16-byte memcpy is always lowered to the load itself.
@inline(__always)
func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
    var v = SIMD4<Float>()
    memcpy(&v, p, 16)
    return v
}

@inline(__always)
func load4(_ p: UnsafeMutablePointer<Float>) -> SIMD4<Float> { load4(UnsafePointer(p)) }

/// Four floats to any address, as one unaligned vector store (the same
/// reason as `load4`: `storeBytes(of:as:)` was left out of line there too).
@inline(__always)
func store4(_ v: SIMD4<Float>, to p: UnsafeMutablePointer<Float>) {
    var v = v
    memcpy(p, &v, 16)
}
