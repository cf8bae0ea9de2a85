#ifndef REVSD_CFUZZER_SHIM_H
#define REVSD_CFUZZER_SHIM_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (LLVM >= 12), linked in by -sanitize=fuzzer. SwiftPM
// points `main` at the executable module's own entry point on Linux, so the
// fuzz targets keep their @main and hand over to this driver from it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
