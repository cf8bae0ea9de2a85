#!/usr/bin/env python3
"""The peer of `revsd-bench clip`: the same CLIP vision tower in transformers
on PyTorch CPU, same images, same thread count. With --make DIR, first writes
a full-size ViT-B/32 vision tower (openai/clip-vit-base-patch32's shape:
CLIPVisionModelWithProjection, 12 layers, width 768, patch 32, 224 px,
projection 512, quick_gelu) with random weights (fixed seed: speed does not
depend on the values) and its preprocessor_config.json into DIR.
Prints a JSON line for the model alone (preprocessed tensors in) and, at
batch 1, one for file → PIL decode → CLIPImageProcessor → model. With
--bf16, the model runs under torch.autocast("cpu", torch.bfloat16) (its
matrix products in bfloat16: PyTorch's own answer to revsd's bfloat16 path)."""
import argparse, json, os, time
import torch, transformers
from PIL import Image, ImageOps
from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

ap = argparse.ArgumentParser()
ap.add_argument("--folder", required=True)
ap.add_argument("--make", action="store_true")
ap.add_argument("--images")
ap.add_argument("--seconds", type=float, default=10)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--bf16", action="store_true")
a = ap.parse_args()
torch.set_num_threads(a.threads)

if a.make:
    if not os.path.exists(os.path.join(a.folder, "model.safetensors")):
        torch.manual_seed(0)
        cfg = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                               image_size=224, patch_size=32, projection_dim=512, hidden_act="quick_gelu")
        CLIPVisionModelWithProjection(cfg).save_pretrained(a.folder)
        CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(a.folder)
    if not a.images:
        raise SystemExit(0)

model = CLIPVisionModelWithProjection.from_pretrained(a.folder).eval()
proc = CLIPImageProcessor.from_pretrained(a.folder)
paths = [l for l in open(a.images).read().split("\n") if l]

def pil(p):
    im = Image.open(p); im.seek(0)
    return ImageOps.exif_transpose(im).convert("RGB")

xs = [proc(pil(p), return_tensors="pt")["pixel_values"] for p in paths]
batches = [torch.cat(xs[i:i + a.batch]) for i in range(0, len(xs), a.batch)]

def measure(items, fn):
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
        fn(items[0])
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < a.seconds:
            for it in items:
                done += fn(it)
        return done, time.perf_counter() - start

runs = [("model", batches, lambda x: (model(pixel_values=x).image_embeds, x.shape[0])[1])]
if a.batch == 1:
    runs.append(("file", paths, lambda p: (model(pixel_values=proc(pil(p), return_tensors="pt")["pixel_values"]).image_embeds, 1)[1]))
for what, items, fn in runs:
    done, secs = measure(items, fn)
    print(json.dumps({"impl": "pytorch", "what": what, "batch": a.batch, "precision": "bf16" if a.bf16 else "fp32", "images": done, "seconds": round(secs, 3),
                      "images_per_s": round(done / secs, 2), "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "transformers": transformers.__version__}))
