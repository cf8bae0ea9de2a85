import Foundation
import Inference
import RevsdSystem

/// The OpenBLAS kernels a revsd process runs: the CPU's own, even where the
/// installed OpenBLAS is older than the CPU (`BLASKernelChoice`).
public enum BLASKernels {
    /// Set by the restart to what OpenBLAS had chosen on its own, so the
    /// restarted process can say what it did.
    static let fellBackVariable = "REVSD_OPENBLAS_FELL_BACK"

    /// Called before any work by each executable that runs models (revsdctl:
    /// by its commands that do, so `status` and the rest start only once):
    /// where OpenBLAS fell back to pre-AVX2 kernels on a CPU with AVX2, the
    /// process starts again in place with `OPENBLAS_CORETYPE` naming the
    /// kernels the CPU's flags warrant. Does nothing where OpenBLAS knew the
    /// CPU or the user set `OPENBLAS_CORETYPE`. If the restart fails, one
    /// line on stderr says so and the process goes on with the fallback.
    public static func useTheCPUsOwn() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil else { return }
        let chosen = BLASKernelChoice.current
        guard let better = BLASKernelChoice.better(than: chosen, cpuFlags: BLASKernelChoice.machineFlags) else { return }
        let error = CurrentProcess.restart(adding: ["OPENBLAS_CORETYPE": better, fellBackVariable: chosen])
        FileHandle.standardError.write(Data(
            "revsd: OpenBLAS chose its \(chosen) kernels on a CPU with AVX2; restarting with its \(better) kernels failed (\(error)); going on with \(chosen)\n".utf8))
    }

    /// One line for the log: the kernels in use, and why.
    public static var summary: String {
        let environment = ProcessInfo.processInfo.environment
        let current = BLASKernelChoice.current
        if let fellBack = environment[fellBackVariable], environment["OPENBLAS_CORETYPE"] == current {
            return "OpenBLAS kernels: \(current) (OpenBLAS did not know this CPU and chose its \(fellBack) kernels; restarted with OPENBLAS_CORETYPE=\(current))"
        }
        if let set = environment["OPENBLAS_CORETYPE"] {
            return "OpenBLAS kernels: \(current) (OPENBLAS_CORETYPE=\(set))"
        }
        return "OpenBLAS kernels: \(current)"
    }

    /// One line for the log: the precision of the transformers' dense layers.
    public static var transformerPrecision: String {
        if BFloat16MatMul.isAvailable { return "transformer products: bfloat16 through oneDNN (AVX-512 BF16; REVSD_MATMUL=fp32 keeps fp32)" }
        let why = ProcessInfo.processInfo.environment["REVSD_MATMUL"] == "fp32" ? "REVSD_MATMUL=fp32"
            : BLASKernelChoice.machineFlags.contains("avx512_bf16") ? "oneDNN's check failed" : "this CPU has no AVX-512 BF16"
        return "transformer products: fp32 through OpenBLAS (\(why))"
    }
}
