#!/usr/bin/env python3
"""The peer of `revsd-bench efficientnet`: timm's tf_efficientnet_liteN on
PyTorch CPU with the same weights, same images, same thread count. Prints a
JSON line for the model alone (preprocessed tensors in) and one for
file → PIL decode → timm transform → model."""
import argparse, glob, json, os, sys, time
import torch, timm
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import make_image_golden as g

ap = argparse.ArgumentParser()
ap.add_argument("--images", required=True)
ap.add_argument("--variant", default="lite0")
ap.add_argument("--seconds", type=float, default=10)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--pth-dir")
a = ap.parse_args()
torch.set_num_threads(a.threads)
paths = [l for l in open(a.images).read().split("\n") if l]
size, resize, _ = g.VARIANTS[a.variant]
model, _ = g.load_model(a.variant, a.pth_dir)
t = g.transform(size, resize)
xs = [t(g.pil_rgb(p)).unsqueeze(0) for p in paths]

def measure(fn):
    with torch.inference_mode():
        fn(0)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < a.seconds:
            for i in range(len(paths)):
                fn(i); done += 1
        return done, time.perf_counter() - start

for what, fn in [("model", lambda i: model(xs[i])), ("file", lambda i: model(t(g.pil_rgb(paths[i])).unsqueeze(0)))]:
    done, secs = measure(fn)
    print(json.dumps({"impl": "pytorch", "what": what, "variant": a.variant, "images": done, "seconds": round(secs, 3),
                      "images_per_s": round(done / secs, 2), "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "timm": timm.__version__}))
