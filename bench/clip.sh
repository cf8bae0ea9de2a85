#!/usr/bin/env bash
# Benchmark: a full-size CLIP ViT-B/32 vision tower (openai/clip-vit-base-patch32's
# shape, random weights: speed does not depend on the values), images/s of
# revsd against transformers' CLIPVisionModelWithProjection on PyTorch CPU
# (same weights file, same images, same threads), in one run. Batch 1: model
# alone and from the file; batch 8: model alone, and at batch 8 each side in
# both precisions: revsd with REVSD_MATMUL=fp32 and in its default (bfloat16
# products where the CPU has AVX-512 BF16), PyTorch in fp32 and under
# torch.autocast bfloat16. Rewrites the "clip" section of bench/RESULTS.md.
#
#   bench/clip.sh [seconds-per-measurement]      (ROUNDS=3 alternating rounds, best of each)
#
# The peer and the weights come from a private virtual environment
# (bench/.venv, or $REVSD_BENCH_PYTHON) with torch and transformers from PyPI;
# the weights are written by bench/clip_torch.py into bench/.clip-b32
# (ignored by git, 351 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
threads="$(nproc)"
py="${REVSD_BENCH_PYTHON:-bench/.venv/bin/python}"
if [ ! -x "$py" ]; then python3 -m venv bench/.venv; py=bench/.venv/bin/python; fi
"$py" -c "import torch" 2>/dev/null || "$(dirname "$py")/pip" install -q torch
"$py" -c "import transformers, torchvision" 2>/dev/null || "$(dirname "$py")/pip" install -q transformers torchvision pillow

folder=bench/.clip-b32
"$py" bench/clip_torch.py --folder "$folder" --make 2>/dev/null
swift build -c release --product revsd-bench >/dev/null

list="$(mktemp)"; trap 'rm -f "$list"' EXIT
ls Tests/IndexerTests/Fixtures/images/scene-320x200.png Tests/IndexerTests/Fixtures/images/tall-180x260.jpg > "$list"
images_desc="2 of the project's test images"
if [ -d ../shared/fixtures/sd-meta ]; then
    ls ../shared/fixtures/sd-meta/comfyex__*.png ../shared/fixtures/sd-meta/dstools__bird1.png >> "$list"
    images_desc="$(wc -l < "$list") images: 2 of the project's test images and real SD outputs from shared/fixtures/sd-meta (comfyex__*, dstools__bird1), 512-1536 px"
fi

# Rounds alternate revsd and PyTorch; each figure is the best of its rounds,
# so that other work on the machine costs both sides alike.
rounds="${ROUNDS:-3}"
r=""; p=""; r32=""; pbf=""
for i in $(seq "$rounds"); do
    r32+="$(REVSD_MATMUL=fp32 .build/release/revsd-bench clip --folder "$folder" --images "$list" --seconds "$seconds" --batch 8 | grep '"what":"model"')"$'\n'
    pbf+="$("$py" bench/clip_torch.py --folder "$folder" --images "$list" --seconds "$seconds" --threads "$threads" --batch 8 --bf16 2>/dev/null | grep '^{')"$'\n'
    r+="$(.build/release/revsd-bench clip --folder "$folder" --images "$list" --seconds "$seconds")"$'\n'
    p+="$("$py" bench/clip_torch.py --folder "$folder" --images "$list" --seconds "$seconds" --threads "$threads" 2>/dev/null | grep '^{')"$'\n'
    r+="$(.build/release/revsd-bench clip --folder "$folder" --images "$list" --seconds "$seconds" --batch 8)"$'\n'
    p+="$("$py" bench/clip_torch.py --folder "$folder" --images "$list" --seconds "$seconds" --threads "$threads" --batch 8 2>/dev/null | grep '^{')"$'\n'
done
echo "$r$p$r32$pbf"
machine="$("$py" bench/results.py --machine)"
"$py" - "$images_desc" "$machine" "$rounds" "$seconds" "$r" "$p" "$r32" "$pbf" <<'PY' | "$py" bench/results.py clip
import json, sys
images, machine, rounds, seconds, r, p, r32, pbf = sys.argv[1:]
key = lambda x: (x["what"], x["batch"])
def best(lines):
    out = {}
    for x in map(json.loads, filter(None, lines.splitlines())):
        if x["what"] == "flops":
            continue
        if key(x) not in out or x["images_per_s"] > out[key(x)]["images_per_s"]:
            out[key(x)] = x
    return out
flops = {}
for x in map(json.loads, filter(None, r.splitlines())):
    if x["what"] == "flops" and (x["batch"] not in flops or x["sgemm_gflop_per_s"] > flops[x["batch"]]["sgemm_gflop_per_s"]):
        flops[x["batch"]] = x
precision = next((x.get("precision") for x in map(json.loads, filter(None, r.splitlines())) if x.get("precision")), "fp32")
r, p, r32, pbf = best(r), best(p), best(r32), best(pbf)
t = p[("model", 1)]
print("## CLIP ViT-B/32 vision tower: images per second\n")
print(f"Run {machine}. Peer: transformers {t['transformers']} `CLIPVisionModelWithProjection` on PyTorch {t['torch']} CPU, "
      f"{t['threads']} threads. Model: openai/clip-vit-base-patch32's vision shape (12 layers, width 768, patch 32, 224 px, "
      f"projection 512, quick_gelu) with random weights, one model.safetensors read by both. Images: {images}. "
      f"Each figure: passes over the images for at least {seconds} s after one warm-up, "
      f"best of {rounds} rounds that alternate revsd and PyTorch (the machine is shared). "
      f"revsd's dense layers here: {'bfloat16 products, fp32 sums (oneDNN; AVX-512 BF16)' if precision == 'bf16' else 'fp32 (OpenBLAS)'}; "
      f"PyTorch in fp32 unless the row says otherwise.\n")
print("| what | revsd (img/s) | PyTorch (img/s) | ratio |")
print("|---|---:|---:|---:|")
for k, label in [(("model", 1), "model only, batch 1 (preprocessed tensor in, `image_embeds` out)"),
                 (("file", 1), "from the file, batch 1 (decode, CLIPImageProcessor, model)"),
                 (("model", 8), "model only, batch 8")]:
    print(f"| {label} | {r[k]['images_per_s']:.1f} | {p[k]['images_per_s']:.1f} | {r[k]['images_per_s'] / p[k]['images_per_s']:.2f}× |")
k = ("model", 8)
if k in r32 and k in pbf:
    print(f"| model only, batch 8, both in fp32 (revsd with REVSD_MATMUL=fp32) | {r32[k]['images_per_s']:.1f} | {p[k]['images_per_s']:.1f} | {r32[k]['images_per_s'] / p[k]['images_per_s']:.2f}× |")
    print(f"| model only, batch 8, both with bfloat16 products (revsd as above; PyTorch under torch.autocast bfloat16) | {r[k]['images_per_s']:.1f} | {pbf[k]['images_per_s']:.1f} | {r[k]['images_per_s'] / pbf[k]['images_per_s']:.2f}× |")
if flops:
    print("\nThe work against what this machine's fp32 sgemm gives (`revsd-bench clip` prints it: multiply-adds per image from the shape, "
          "sgemm through revsd's BLAS entry point at the tower's largest product, the batch's tokens × 768 by 768 × 3072, best of the rounds; "
          "bfloat16 products are not bound by it):\n")
    print("| batch | GFLOP per image | revsd GFLOP/s | PyTorch GFLOP/s | sgemm GFLOP/s | images/s if every FLOP ran at sgemm's rate | 1.2× PyTorch needs |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for b, f in sorted(flops.items()):
        g = f["gflop_per_image"]
        print(f"| {b} | {g:.2f} | {r[('model', b)]['images_per_s'] * g:.0f} | {p[('model', b)]['images_per_s'] * g:.0f} | {f['sgemm_gflop_per_s']:.0f} "
              f"| {f['ceiling_images_per_s']:.1f} | {1.2 * p[('model', b)]['images_per_s']:.1f} images/s, {1.2 * p[('model', b)]['images_per_s'] * g:.0f} GFLOP/s |")
print("\nReproduce: `bench/clip.sh [seconds]` (REVSD_BENCH_PYTHON=/path/to/python to use an existing environment with torch and transformers).")
PY
