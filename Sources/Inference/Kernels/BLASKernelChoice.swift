import CBLAS
import Foundation

/// Which of OpenBLAS's kernel sets this process runs, and which it should.
///
/// Debian's OpenBLAS is built with DYNAMIC_ARCH: when the library loads, it
/// reads the CPU's family and model and picks the kernels written for it. A
/// CPU newer than the library (Debian 12 ships 0.3.21, from 2022) is not in
/// its table, and it falls back to its oldest x86-64 kernels, "Prescott"
/// (SSE3), even on a CPU with AVX-512. Measured on an Intel Xeon of family 6,
/// model 207 (2026-12-03): MiniLM at batch 32 ran at 55 sentences/s with the
/// fallback and 177 with the SkylakeX kernels.
///
/// OpenBLAS lets `OPENBLAS_CORETYPE` name the kernels, read once when the
/// library loads, so the choice has to be made before the process starts:
/// `better(than:cpuFlags:)` says which set the CPU's own feature flags
/// warrant when OpenBLAS fell back, and the executables restart themselves
/// with it (`Daemon.BLASKernels.useTheCPUsOwn`). A CPU OpenBLAS recognised,
/// or a choice the user made, is never overridden.
public enum BLASKernelChoice {
    /// The kernel set OpenBLAS chose when it loaded ("SkylakeX", "Haswell",
    /// "Zen", "Prescott", …).
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Kernel sets older than AVX2: what OpenBLAS falls back to on a CPU it
    /// does not know (its name table for x86-64, 0.3.x).
    static let preAVX2: Set<String> = [
        "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn",
        "Dunnington", "Nehalem", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Nano",
        "Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator",
    ]

    /// The AVX-512 subsets OpenBLAS's SkylakeX kernels use.
    static let skylakeXFlags: Set<String> = ["avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd"]

    /// The kernel set to run instead of `chosen`, or nil to keep it.
    /// `cpuFlags` are the kernel's flags for the CPU (/proc/cpuinfo), which
    /// list only what the kernel also enabled (AVX state saved on a switch).
    /// Only a pre-AVX2 choice on a CPU with AVX2 and FMA is replaced:
    /// SkylakeX where the CPU has those AVX-512 subsets, Haswell otherwise.
    public static func better(than chosen: String, cpuFlags: Set<String>) -> String? {
        guard preAVX2.contains(chosen), cpuFlags.isSuperset(of: ["avx2", "fma"]) else { return nil }
        return cpuFlags.isSuperset(of: skylakeXFlags) ? "SkylakeX" : "Haswell"
    }

    /// This machine's CPU flags (read once from /proc/cpuinfo; empty where
    /// it cannot be read).
    public static let machineFlags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        return cpuFlags(cpuinfo: text)
    }()

    /// The feature flags of the first processor in /proc/cpuinfo's text (the
    /// `flags` line; Linux lists the same for every core).
    public static func cpuFlags(cpuinfo: String) -> Set<String> {
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "flags" else { continue }
            return Set(parts[1].split(separator: " ").map(String.init))
        }
        return []
    }
}
