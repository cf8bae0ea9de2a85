#!/usr/bin/env bash
# The reduced decode (JPEG DCT scaling, WebP's scaled decode; Imaging's
# ReducedDecode) against the exact one: decode + preprocessing time, the
# cosine of each EfficientNet's pooled features to the exact path's, the
# zero-shot prediction's mean cosine to the true prompt, and the 320 px
# thumbnail's PSNR, per margin (short side kept ≥ margin × 297 px, the
# largest encoder resize). Two sets: the JPEG/WebP files of
# shared/fixtures/sd-meta, and large JPEGs/WebPs made in a temporary folder
# from its PNGs (upscaled ×1.5–4 with Lanczos, JPEG q85–95 4:2:0/4:4:4, WebP
# q90) with their true prompts. Prints a table; writes nothing in the repo.
# Needs ../shared and a Python with Pillow (REVSD_BENCH_PYTHON, default
# bench/.venv/bin/python) for the second set.
#   bench/scaled_decode.sh [MARGINS (default 1,1.5,2)] [--jpeg-factors all]
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=../shared/fixtures/sd-meta
[ -d "$fixtures" ] || { echo "scaled_decode: $fixtures is absent" >&2; exit 1; }
margins="${1:-1,1.5,2}"; shift || true
swift build -c release --product revsd-bench >/dev/null
py="${REVSD_BENCH_PYTHON:-bench/.venv/bin/python}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
sets=("$fixtures/expected.tsv")
if "$py" -c 'import PIL' 2>/dev/null; then
  "$py" - "$fixtures" "$tmp" <<'PY'
import os, sys
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t") for l in open(f"{src}/expected.tsv", encoding="utf-8")]
want = [r for r in rows[1:] if len(r) >= 6 and r[0].endswith(".png") and r[5]
        and not r[0].startswith(("sdparsers", "naipy", "enslo")) and int(r[2]) >= 512 and int(r[3]) >= 512]
want += [r for r in rows[1:] if r[0].startswith("enslo__png") and r[5]][:4]
lines = ["filename\tcontainer\twidth\theight\tmetadata_format\tpositive_prompt"]
for i, r in enumerate(want):
    im = Image.open(f"{src}/{r[0]}").convert("RGB")
    s = min(im.size)
    scale = [2, 3, 1.5, 4][i % 4] if s <= 768 else [2, 1.5, 3][i % 3] if s <= 1024 else 1.5
    big = im.resize((int(im.width * scale), int(im.height * scale)), Image.LANCZOS)
    base = f"{os.path.splitext(r[0])[0]}.{big.width}x{big.height}"
    if i % 4 == 3:
        name = base + ".webp"; big.save(f"{out}/{name}", quality=90, method=4)
    else:
        name = base + ".jpg"; big.save(f"{out}/{name}", quality=[92, 95, 85][i % 3], subsampling=0 if i % 5 == 0 else 2)
    lines.append("\t".join([name, "", str(big.width), str(big.height), "synthetic", r[5]]))
open(f"{out}/expected.tsv", "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
  sets+=("$tmp/expected.tsv")
else
  echo "scaled_decode: $py has no Pillow: the synthetic large set is skipped" >&2
fi
for s in "${sets[@]}"; do
  .build/release/revsd-bench scaled --expected "$s" --margins "$margins" "$@"
done | tee "$tmp/out.jsonl"
python3 - "$tmp/out.jsonl" "$fixtures/expected.tsv" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("\n| set | margin (short side ≥) | files reduced | exact ms | reduced ms | speed-up | "
      "feature cosine min / mean (lite0, lite1, lite2) | zero-shot exact → reduced | thumb PSNR min / mean |")
print("|---|---|---:|---:|---:|---:|---|---|---|")
for r in rows:
    name = "sd-meta JPEG/WebP" if r["set"] == sys.argv[2] else "synthetic large"
    fc = r["feature_cosine"]
    cos = ", ".join(f"{fc[k]['min']:.4f} / {fc[k]['mean']:.4f}" for k in sorted(fc)) or "–"
    speed = r["exact_ms"] / r["reduced_ms"] if r["reduced_ms"] else 0
    print(f"| {name} | {r['margin']} ({r['min_short_side']} px) | {r['reduced']}/{r['files']} | {r['exact_ms']:.1f} | {r['reduced_ms']:.1f} | "
          f"{speed:.2f}× | {cos} | {r['zero_shot_exact']:.4f} → {r['zero_shot_reduced']:.4f} | {r['thumb_psnr_min']:.1f} / {r['thumb_psnr_mean']:.1f} dB |")
PY
