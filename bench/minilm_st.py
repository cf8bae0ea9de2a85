#!/usr/bin/env python3
"""The peer of `revsd-bench minilm`: sentence-transformers on PyTorch CPU,
same texts, same batch size, same thread count. Prints one JSON line."""
import argparse, json, time, os
import torch
from sentence_transformers import SentenceTransformer

ap = argparse.ArgumentParser()
ap.add_argument("--texts", required=True)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--seconds", type=float, default=10)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--model", required=True, help="the installed revsd model folder (same files)")
a = ap.parse_args()
torch.set_num_threads(a.threads)
texts = [l.rstrip("\r") for l in open(a.texts, encoding="utf-8").read().split("\n")]
if texts and texts[-1] == "":
    texts.pop()
model = SentenceTransformer(a.model, device="cpu")

def one_pass():
    for i in range(0, len(texts), a.batch):
        model.encode(texts[i:i + a.batch], batch_size=a.batch, show_progress_bar=False)
    return len(texts)

with torch.inference_mode():
    one_pass()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < a.seconds:
        done += one_pass()
    secs = time.perf_counter() - start
print(json.dumps({"impl": "sentence-transformers", "batch": a.batch, "sentences": done, "seconds": round(secs, 3),
                  "sentences_per_s": round(done / secs, 2), "threads": torch.get_num_threads(),
                  "torch": torch.__version__}))
