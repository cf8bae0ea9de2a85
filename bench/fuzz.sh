#!/usr/bin/env bash
# Builds the two libFuzzer targets (Fuzz/MetadataFuzz on Metadata alone,
# Fuzz/ProtocolFuzz on RevsdProtocol alone) with -sanitize=fuzzer,address in
# their own scratch path (.build-fuzz), writes the seed corpora (Fuzz/seeds.sh)
# and runs each for SECONDS. Prints, per target, executions, exec/s, peak RSS,
# corpus size and whether it crashed; exits 1 when one crashed (the input is
# kept under .build-fuzz/artifacts/ and can be replayed with the plain
# build's replayer: .build/debug/MetadataFuzz FILE). With `record`, the
# figures replace the fuzz section of bench/RESULTS.md.
# FUZZ_RUNS=N also stops each target after N executions.
# Usage: bench/fuzz.sh [seconds per target, default 120] [record]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"
record="${2:-}"
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
scratch=.build-fuzz
mkdir -p "$scratch/artifacts" "$scratch/logs"
# gold fails on ASan objects with debug info (dwarf_reader internal error):
# link with the toolchain's lld.
lld="$(dirname "$(command -v swift)")/ld.lld"
printf '{"schemaVersion": "1.0", "linker": {"path": "%s"}}\n' "$lld" > "$scratch/toolset.json"
for target in MetadataFuzz ProtocolFuzz; do
    swift build --toolset "$scratch/toolset.json" --scratch-path "$scratch" -c release --product "$target" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DREVSD_FUZZ 2>&1 | grep -E "error|warning: unre" >&2 || true
    [ -x "$scratch/release/$target" ] || { echo "fuzz: $target did not build" >&2; exit 1; }
done
Fuzz/seeds.sh "$scratch/corpus" >&2

# Reports of static state the leak scan cannot see through (Fuzz/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=0
summary=()
run() {  # target corpus max_len
    local target="$1" corpus="$2" max_len="$3" log="$scratch/logs/$1.log" rc=0
    local seeds; seeds=$(ls "$corpus" | wc -l)
    "$scratch/release/$target" "$corpus" "${runs[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="$max_len" \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$target-" >"$log" 2>&1 || rc=$?
    local execs rate rss units
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    units=$(ls "$corpus" | wc -l)
    local verdict="no crash"
    if [ "$rc" -ne 0 ]; then
        verdict="CRASHED (exit $rc): $(grep -m1 -E 'ERROR|Fatal error|Test unit written' "$log" || true); log $log"
        failed=1
    fi
    local line="fuzz $target: ${execs:-?} executions, ${rate:-?} exec/s, peak RSS ${rss:-?} MB, corpus $seeds seeds → $units inputs, max_len $max_len, ${seconds} s: $verdict"
    echo "$line"
    summary+=("| $target | ${execs:-?} | ${rate:-?} | ${rss:-?} | $seeds → $units | $verdict |")
}
run MetadataFuzz "$scratch/corpus/metadata" 70000
run ProtocolFuzz "$scratch/corpus/protocol" 4096

if [ "$record" = record ]; then
    {
        echo "## libFuzzer: the metadata readers and the protocol decoder"
        echo
        echo "Run $(python3 bench/results.py --machine). libFuzzer with AddressSanitizer (\`-sanitize=fuzzer,address\`, release), ${seconds} s per target${FUZZ_RUNS:+ or $FUZZ_RUNS executions}, \`-rss_limit_mb=2048\`; seeds from \`Fuzz/seeds.sh\` (fixtures of shared/fixtures/sd-meta cut to 64 KiB and files built like the tests' MetadataFileBuilder; request lines of docs/PROTOCOL.md)."
        echo
        echo "| target | executions | exec/s | peak RSS (MB) | corpus (seeds → inputs) | result |"
        echo "|---|---:|---:|---:|---:|---|"
        printf '%s\n' "${summary[@]}"
        echo
        echo "MetadataFuzz: \`MetadataReader.read\` on the input, \`PromptText.cleaned\` and \`bounded\` on what it finds, \`MetadataReader.stealthReport\` on the input as RGBA pixels (width from byte 0). ProtocolFuzz: the input cut into lines as the daemon cuts them, each \`ControlFraming.decodeRequest\`ed; errors encoded as answers, requests encoded again and decoded to the same value. Reproduce: \`bench/fuzz.sh [seconds] record\`."
    } | python3 bench/results.py fuzz >/dev/null
fi
exit "$failed"
