#!/usr/bin/env bash
# Benchmark: all-MiniLM-L6-v2 sentences/s, revsd against sentence-transformers
# (PyTorch CPU, same threads, same texts, same model files), at batch 1 and 32,
# in one run on this machine. Rewrites the "minilm" section of bench/RESULTS.md.
#
#   bench/minilm.sh [seconds-per-measurement]
#
# The peer runs from a private virtual environment (bench/.venv, ignored by
# git) with torch and sentence-transformers from PyPI; revsd itself never
# needs Python. Texts: the first 256 prompts of ../shared/fixtures/prompts/
# real-sd-prompts.tsv when present, else the golden test texts.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
threads="$(nproc)"

venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "torch==2.14.*" "torchvision==0.29.*" "sentence-transformers==6.*" 2>/dev/null \
        || "$venv/bin/pip" install -q torch sentence-transformers
fi

swift build -c release --product revsd-bench >/dev/null
swift build -c release --product revsdctl >/dev/null
.build/release/revsdctl models fetch >/dev/null
model_dir="$(.build/release/revsdctl models list --json | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["path"])')"

texts="$(mktemp)"; trap 'rm -f "$texts"' EXIT
if [ -f ../shared/fixtures/prompts/real-sd-prompts.tsv ]; then
    awk -F'\t' 'NR > 1 && NR <= 257 { print $1 }' ../shared/fixtures/prompts/real-sd-prompts.tsv > "$texts"
    source_desc="first 256 prompts of shared/fixtures/prompts/real-sd-prompts.tsv"
else
    "$venv/bin/python" -c 'import json; [print(c["text"].replace("\n"," ")) for c in json.load(open("Tests/IndexerTests/Golden/minilm-golden.json"))["cases"]]' > "$texts"
    source_desc="the golden test texts"
fi

results=()
for batch in 1 32; do
    r="$(.build/release/revsd-bench minilm --texts "$texts" --batch "$batch" --seconds "$seconds")"
    p="$("$venv/bin/python" bench/minilm_st.py --texts "$texts" --batch "$batch" --seconds "$seconds" --threads "$threads" --model "$model_dir" 2>/dev/null | tail -1)"
    echo "$r"; echo "$p"
    results+=("$r" "$p")
done

"$venv/bin/python" - "$source_desc" "$threads" "${results[@]}" <<'PY'
import json, platform, re, subprocess, sys, datetime
source, threads, *rows = sys.argv[1:]
rows = [json.loads(r) for r in rows]
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return "?"
cpu = sh("lscpu | sed -n 's/^Model name:[ ]*//p' | head -1")
mem = sh("free -g | awk '/Mem:/ {print $2}'")
swift = sh("swift --version 2>&1 | head -1")
blas = sh("dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || true")
env = " ".join(f"{k}={v}" for k, v in sorted(__import__('os').environ.items()) if k.startswith("OPENBLAS_"))
lines = [
    "<!-- minilm:begin (written by bench/minilm.sh) -->",
    "## all-MiniLM-L6-v2 prompt encoder: sentences per second",
    "",
    f"Run {datetime.date.today()} on {cpu}, {threads} cores, {mem} GiB, {platform.platform()}; {swift}; "
    f"OpenBLAS {blas}{' (' + env + ')' if env else ''}; peer: sentence-transformers on PyTorch {rows[1].get('torch')} CPU, "
    f"{threads} threads. Texts: {source}. Each figure: repeated passes over all texts for at least the set time, after one warm-up pass; "
    "tokenisation, batching and pooling included on both sides.",
    "",
    "| batch | revsd (sent/s) | sentence-transformers (sent/s) | ratio |",
    "|---:|---:|---:|---:|",
]
for i in range(0, len(rows), 2):
    r, p = rows[i], rows[i + 1]
    lines.append(f"| {r['batch']} | {r['sentences_per_s']:.1f} | {p['sentences_per_s']:.1f} | {r['sentences_per_s'] / p['sentences_per_s']:.2f}× |")
lines += ["", "Reproduce: `bench/minilm.sh [seconds]`.", "<!-- minilm:end -->"]
section = "\n".join(lines)
path = "bench/RESULTS.md"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmark results\n\nEach section is rewritten by the script it names, with the machine and the peer measured in the same run.\n"
if "<!-- minilm:begin" in text:
    text = re.sub(r"<!-- minilm:begin.*?<!-- minilm:end -->", section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
print(section)
PY
