import XCTest
@testable import Inference

/// Which OpenBLAS kernels a CPU warrants where the library fell back
/// (BLASKernelChoice): only a pre-AVX2 fallback on a CPU with AVX2 and FMA
/// is replaced; a CPU OpenBLAS recognised keeps its choice.
final class BLASKernelChoiceTests: XCTestCase {
    /// The flags line of /proc/cpuinfo on the Intel Xeon (family 6, model
    /// 207) that Debian 12's OpenBLAS 0.3.21 does not know (trimmed).
    let xeonCPUInfo = """
        processor\t: 0
        vendor_id\t: GenuineIntel
        cpu family\t: 6
        model\t\t: 207
        flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 amx_tile
        bugs\t\t: spectre_v1

        processor\t: 1
        flags\t\t: fpu vme sse sse2
        """

    func testTheFlagsAreTheFirstProcessorsFlagsLine() {
        let flags = BLASKernelChoice.cpuFlags(cpuinfo: xeonCPUInfo)
        XCTAssert(flags.isSuperset(of: ["avx2", "fma", "avx512f", "avx512vl", "amx_tile"]), "\(flags)")
        XCTAssertFalse(flags.contains("spectre_v1"), "the bugs line is not flags")
        XCTAssertEqual(BLASKernelChoice.cpuFlags(cpuinfo: "processor : 0\n"), [])
    }

    func testAFallbackOnAnAVX512CPUBecomesSkylakeX() {
        let flags = BLASKernelChoice.cpuFlags(cpuinfo: xeonCPUInfo)
        XCTAssertEqual(BLASKernelChoice.better(than: "Prescott", cpuFlags: flags), "SkylakeX")
        XCTAssertEqual(BLASKernelChoice.better(than: "Nehalem", cpuFlags: flags), "SkylakeX")
        XCTAssertEqual(BLASKernelChoice.better(than: "Sandybridge", cpuFlags: flags), "SkylakeX")
    }

    func testAFallbackOnAnAVX2CPUWithoutTheAVX512SubsetsBecomesHaswell() {
        let avx2: Set<String> = ["sse2", "avx", "avx2", "fma"]
        XCTAssertEqual(BLASKernelChoice.better(than: "Prescott", cpuFlags: avx2), "Haswell")
        // AVX-512 foundation alone (no BW/VL/DQ/CD, as on Knights Landing) is not SkylakeX's.
        XCTAssertEqual(BLASKernelChoice.better(than: "Prescott", cpuFlags: avx2.union(["avx512f"])), "Haswell")
    }

    func testARecognisedCPUOrOneWithoutAVX2KeepsOpenBLASsChoice() {
        let flags = BLASKernelChoice.cpuFlags(cpuinfo: xeonCPUInfo)
        for recognised in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"] {
            XCTAssertNil(BLASKernelChoice.better(than: recognised, cpuFlags: flags), recognised)
        }
        XCTAssertNil(BLASKernelChoice.better(than: "Prescott", cpuFlags: ["sse2", "sse3", "avx"]), "no AVX2: the fallback is right")
        XCTAssertNil(BLASKernelChoice.better(than: "Prescott", cpuFlags: ["avx2"]), "AVX2 without FMA is not Haswell's")
    }

    /// This process's OpenBLAS reports a name from its table.
    func testTheCurrentKernelsHaveAName() {
        XCTAssertFalse(BLASKernelChoice.current.isEmpty)
        XCTAssertNotEqual(BLASKernelChoice.current, "unknown")
    }
}
