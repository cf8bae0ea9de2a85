#!/usr/bin/env python3
"""Tiny random CLIP models and golden values for revsd's CLIP towers, its
byte-level BPE tokenizer and its CLIPImageProcessor preprocessing.
Not run by CI; its outputs are committed.

No CLIP weights or tokenizer files can be downloaded here, so everything is
made locally with fixed seeds:

  * a byte-level BPE vocabulary in CLIP's exact file format (vocab.json with the
    256 byte symbols, the 256 byte symbols + "</w>", one token per merge, then
    <|startoftext|> and <|endoftext|>; merges.txt with its "#version" line),
    learnt from text this script writes, split by CLIP's normaliser and
    pre-tokeniser from the Hugging Face `tokenizers` library, and checked to
    load as `transformers.CLIPTokenizerFast`;
  * two CLIPModel checkpoints with random weights, saved by `transformers`:
      clip-tiny-b32  ViT-B/32-like (patch 32, quick_gelu, legacy eos_token_id 2,
                     i.e. pooling at the argmax token id)
      clip-tiny-h14  ViT-H/14-like (patch 14, gelu, eos_token_id = <|endoftext|>)
    and the separate-tower layouts of the first (CLIPVisionModelWithProjection,
    CLIPTextModelWithProjection) in clip-tiny-b32-vision/ and clip-tiny-b32-text/.

Writes (under Tests/IndexerTests/):
  Fixtures/clip-tiny-{b32,h14}/            config.json, model.safetensors, vocab.json, merges.txt,
                                           tokenizer.json, tokenizer_config.json, preprocessor_config.json
  Fixtures/clip-tiny-b32-{vision,text}/    the separate towers
  Golden/clip-golden.json                  token ids, projected and normalised text embeddings of the
                                           prompts; token ids of 300 random fuzz texts; image embeddings of the project's images and of some
                                           ../shared/fixtures/sd-meta images (values only, no pixels of
                                           shared images); interpolated-position embeddings
  Golden/clip-preprocess/*.png             CLIPImageProcessor's resized + cropped RGB input for a few of
                                           the project's own images (Pillow and torchvision backends)
and Tests/InferenceTests/Golden/clip-unicode.json: for every code point, the class the split regex
gives it (space, letter, number, other), and where they change it, its lower case and NFC form,
plus the NFC of 1500 random runs of marks, composites and jamo.

Reference: transformers CLIPModel / CLIPTokenizerFast / CLIPImageProcessor (both
backends), PyTorch on CPU; the versions are recorded in the golden file.

    /opt/refenv/bin/python tools/make_clip_golden.py
"""
import base64, glob, io, json, os, random, shutil, sys
import numpy as np
import PIL
from PIL import Image, ImageOps
import torch, transformers, tokenizers
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import BPE
from transformers import (CLIPConfig, CLIPModel, CLIPTokenizerFast, CLIPVisionModelWithProjection,
                          CLIPTextModelWithProjection, CLIPImageProcessor)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_golden_text import PROMPTS, training_text

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TESTS = os.path.join(ROOT, "Tests", "IndexerTests")
FIX = os.path.join(TESTS, "Fixtures")
IMAGES = os.path.join(FIX, "images")
GOLD = os.path.join(TESTS, "Golden")
SHARED = os.path.join(ROOT, "..", "shared", "fixtures", "sd-meta")
SHARED_IMAGES = ["comfyex__flux_flux_schnell_example.png", "comfyex__sdxl_sdxl_simple_example.png",
                 "dstools__bird1.png", "dynprompts__platinum.png", "cdtuner__sample2.jpg",
                 "enslo__webp_sd-webui.webp"]
PIXEL_IMAGES = ["scene-320x200.png", "tall-180x260.jpg", "orientation6.jpg", "palette.png", "rgb16.png"]

CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

def bytes_to_unicode():
    """GPT-2's reversible byte → printable-character table (CLIP uses the same)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def train_merges(count):
    """Byte-pair merges learnt from `training_text()`, after CLIP's own
    normaliser and pre-tokeniser (run by `tokenizers`). The counting is done
    here rather than by `tokenizers.trainers.BpeTrainer`, whose ties fall in
    hash order, so that the files come out the same on every run: the most
    frequent pair wins, ties go to the smallest pair."""
    import collections
    norm = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False)])
    words = collections.Counter()
    for line in training_text():
        for piece, _ in pre.pre_tokenize_str(norm.normalize_str(line)):
            words[tuple(piece[:-1]) + (piece[-1] + "</w>",)] += 1
    words = dict(words)
    merges = []
    for _ in range(count):
        pairs = collections.Counter()
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1]); i += 2
                else:
                    out.append(w[i]); i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + n
        words = merged
    return merges


def make_tokenizer_files(folder, merge_count=666):
    merges = train_merges(merge_count)
    # CLIP's layout: bytes, bytes + </w>, one token per merge, the two specials.
    base = bytes_to_unicode()
    vocab = {}
    for t in base + [b + "</w>" for b in base]:
        vocab[t] = len(vocab)
    kept = []
    for a, b in merges:
        if a in vocab and b in vocab and a + b not in vocab:
            vocab[a + b] = len(vocab); kept.append((a, b))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in kept))
    return vocab, kept


def unicode_tables():
    """What the reference normaliser and split regex do with every code point."""
    split = pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True)
    spaces = normalizers.Replace(Regex(r"\s+"), " ")
    lower, nfc = normalizers.Lowercase(), normalizers.NFC()
    classes, lowered, composed = [], {}, {}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            classes.append("-"); continue
        ch = chr(c)
        if spaces.normalize_str(ch) == " ":
            k = "s"
        elif len(split.pre_tokenize_str(ch + "a")) == 1:
            k = "L"          # joins a following letter
        elif len(split.pre_tokenize_str(ch + ch)) == 2:
            k = "N"          # numbers split one by one
        else:
            k = "o"
        classes.append(k)
        if lower.normalize_str(ch) != ch:
            lowered[c] = [ord(x) for x in lower.normalize_str(ch)]
        if nfc.normalize_str(ch) != ch:
            composed[c] = [ord(x) for x in nfc.normalize_str(ch)]
    runs, start = [], 0
    for i in range(1, 0x110001):
        if i == 0x110000 or classes[i] != classes[start]:
            runs.append([start, i - 1, classes[start]]); start = i
    return {"provenance": {"script": "tools/make_clip_golden.py", "tokenizers": tokenizers.__version__},
            "runs": runs, "lower": lowered, "nfc": composed}


def nfc_cases(n=1500):
    """Random runs of starters, combining marks, composites and jamo from every
    plane, with the reference's NFC of each."""
    import unicodedata
    rng = random.Random(3)
    marks = [c for c in range(0x300, 0x20000) if unicodedata.combining(chr(c))]
    composites = [c for c in range(0xA0, 0x30000)
                  if unicodedata.decomposition(chr(c)) and not unicodedata.decomposition(chr(c)).startswith("<")]
    jamo = list(range(0x1100, 0x1200)) + list(range(0xAC00, 0xAC40))
    starters = (list(range(0x41, 0x7B)) + list(range(0xC0, 0x250)) + list(range(0x10000, 0x10200)) + list(range(0x1D400, 0x1D500))
                + list(range(0x1F300, 0x1F400)) + list(range(0x11080, 0x11200)) + list(range(0x11300, 0x11400)))
    nfc = normalizers.NFC()
    out = []
    for _ in range(n):
        t = "".join(chr(rng.choice(rng.choice([marks, composites, jamo, starters, starters]))) for _ in range(rng.randint(1, 8)))
        out.append([t, nfc.normalize_str(t)])
    return out


def fuzz_texts(n=300):
    """Random text mixing scripts, emoji, marks, odd spaces and special-token
    look-alikes, for the tokenizer."""
    rng = random.Random(1)
    pools = [range(0x20, 0x7F), range(0xA0, 0x250), range(0x370, 0x3FF), range(0x400, 0x4FF), range(0x590, 0x6FF),
             range(0x900, 0x97F), range(0xE00, 0xE7F), range(0x1100, 0x11FF), range(0x1E00, 0x1FFF), range(0x2000, 0x206F),
             range(0x2070, 0x2BFF), range(0x3000, 0x30FF), range(0x4E00, 0x4F00), range(0xAC00, 0xAD00), range(0xFB00, 0xFB4F),
             range(0xFF00, 0xFFEF), range(0x1F300, 0x1FAFF), range(0x1D400, 0x1D7FF), range(0xE000, 0xE010), range(0x300, 0x36F),
             range(0x10000, 0x10100), range(0xA700, 0xA7FF), range(0x1E900, 0x1E95F)]
    specials = ["<|startoftext|>", "<|endoftext|>", "<|STARTOFTEXT|>", "'s", "'T", "'ll", "  ", "\t", "\n", "\u00a0",
                "\u3000", "\u0085", "\u200b", "\ufeff", "'", "<|", "|>"]
    texts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.15:
                parts.append(rng.choice(specials))
            else:
                pool = rng.choice(pools)
                parts.append("".join(chr(rng.choice(pool)) for _ in range(rng.randint(1, 6))))
            if rng.random() < 0.3:
                parts.append(" ")
        texts.append("".join(parts))
    return texts


def randomize(model, seed):
    """Weights far from the default init, so a swapped tensor cannot go unnoticed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("logit_scale"):
                p.fill_(4.6052)
            elif "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                if name.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                scale = 0.5 if "embedding" in name else 1.0 / fan_in ** 0.5
                p.copy_(scale * torch.randn(p.shape, generator=g))


MODELS = {
    "clip-tiny-b32": dict(seed=32, eos_legacy=True,
                          text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                    max_position_embeddings=77, hidden_act="quick_gelu"),
                          vision=dict(hidden_size=16, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                                      image_size=96, patch_size=32, hidden_act="quick_gelu"),
                          projection_dim=24, crop=96),
    "clip-tiny-h14": dict(seed=14, eos_legacy=False,
                          text=dict(hidden_size=24, intermediate_size=64, num_hidden_layers=2, num_attention_heads=3,
                                    max_position_embeddings=77, hidden_act="gelu"),
                          vision=dict(hidden_size=32, intermediate_size=80, num_hidden_layers=3, num_attention_heads=4,
                                      image_size=56, patch_size=14, hidden_act="gelu"),
                          projection_dim=20, crop=56),
}


def pil_rgb(path):
    im = Image.open(path)
    im.seek(0)
    return ImageOps.exif_transpose(im).convert("RGB")


def f32(a):
    return base64.b64encode(np.asarray(a, dtype="<f4").tobytes()).decode()


def synthetic_pixels(h, w):
    """A deterministic normalised input, computed the same way in the Swift test."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(h), np.arange(w), indexing="ij")
    return np.sin(0.37 * x + 0.23 * y + 1.1 * c).astype(np.float32) * np.float32(1.5)


def main():
    torch.set_num_threads(1)
    tok_dir = "/tmp/revsd-clip-tokenizer"
    shutil.rmtree(tok_dir, ignore_errors=True)
    vocab, merges = make_tokenizer_files(tok_dir)
    out = {"provenance": {"script": "tools/make_clip_golden.py", "torch": torch.__version__,
                          "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                          "pillow": PIL.__version__, "numpy": np.__version__,
                          "tokenizer": "CLIPTokenizerFast(folder)(text, truncation=True, max_length=77)",
                          "vocab_size": len(vocab), "merges": len(merges)},
           "prompts": PROMPTS, "models": {}}
    shared = [n for n in SHARED_IMAGES if os.path.exists(os.path.join(SHARED, n))]
    own = sorted(os.path.basename(p) for p in glob.glob(os.path.join(IMAGES, "*")))
    os.makedirs(os.path.join(GOLD, "clip-preprocess"), exist_ok=True)
    for name, spec in MODELS.items():
        folder = os.path.join(FIX, name)
        shutil.rmtree(folder, ignore_errors=True)
        torch.manual_seed(spec["seed"])
        eos_id = 2 if spec["eos_legacy"] else vocab["<|endoftext|>"]
        cfg = CLIPConfig(text_config=dict(spec["text"], vocab_size=len(vocab), eos_token_id=eos_id,
                                          bos_token_id=vocab["<|startoftext|>"], pad_token_id=1,
                                          projection_dim=spec["projection_dim"]),
                         vision_config=dict(spec["vision"], projection_dim=spec["projection_dim"]),
                         projection_dim=spec["projection_dim"])
        model = CLIPModel(cfg).eval()
        randomize(model, spec["seed"])
        model.save_pretrained(folder)
        tokenizer = CLIPTokenizerFast.from_pretrained(tok_dir, model_max_length=77)
        tokenizer.save_pretrained(folder)
        for f in ["vocab.json", "merges.txt"]:  # CLIP's own files, whatever the saver wrote
            shutil.copy(os.path.join(tok_dir, f), os.path.join(folder, f))
        crop = spec["crop"]
        CLIPImageProcessor(size={"shortest_edge": crop}, crop_size={"height": crop, "width": crop}).save_pretrained(folder)
        tokenizer = CLIPTokenizerFast.from_pretrained(folder)
        assert type(tokenizer).__name__ == "CLIPTokenizer", type(tokenizer)
        model = CLIPModel.from_pretrained(folder).eval()

        # Text: ids, projected and normalised embeddings.
        texts = []
        with torch.no_grad():
            for p in PROMPTS:
                ids = tokenizer(p, truncation=True, max_length=77)["input_ids"]
                padded = tokenizer(p, truncation=True, max_length=77, padding="max_length", return_tensors="pt")
                t = model.text_model(input_ids=torch.tensor([ids]))
                proj = model.text_projection(t.pooler_output)[0]
                full = model(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"],
                             pixel_values=torch.zeros(1, 3, crop, crop))
                normed = full.text_embeds[0]
                assert torch.allclose(proj / proj.norm(), normed, atol=1e-6), p
                texts.append({"ids": ids, "text_embeds": f32(proj.numpy()), "normalized": f32(normed.numpy())})

        # Images through both processor backends; embeddings from the Pillow one.
        pil_proc = CLIPImageProcessorPil.from_pretrained(folder)
        tv_proc = CLIPImageProcessor.from_pretrained(folder)
        images = {}
        mean = np.array(pil_proc.image_mean, np.float32)[:, None, None]
        std = np.array(pil_proc.image_std, np.float32)[:, None, None]
        with torch.no_grad():
            for key, path in [(n, os.path.join(IMAGES, n)) for n in own] + [("shared:" + n, os.path.join(SHARED, n)) for n in shared]:
                im = pil_rgb(path)
                x_pil = pil_proc(im, return_tensors="pt")["pixel_values"]
                x_tv = tv_proc(im, return_tensors="pt")["pixel_values"]
                proj = model.visual_projection(model.vision_model(pixel_values=x_pil).pooler_output)[0]
                normed = model(input_ids=torch.tensor([[vocab["<|startoftext|>"], vocab["<|endoftext|>"]]]),
                               pixel_values=x_pil).image_embeds[0]
                proj_tv = model.visual_projection(model.vision_model(pixel_values=x_tv).pooler_output)[0]
                images[key] = {"image_embeds": f32(proj.numpy()), "normalized": f32(normed.numpy()),
                               "image_embeds_torchvision": f32(proj_tv.numpy())}
                if key in PIXEL_IMAGES:
                    for backend, x in [("pil", x_pil), ("torchvision", x_tv)]:
                        rgb = np.rint((x[0].numpy() * std + mean) * 255).clip(0, 255).astype(np.uint8).transpose(1, 2, 0)
                        Image.fromarray(rgb, "RGB").save(os.path.join(GOLD, "clip-preprocess", f"{key}.{crop}.{backend}.png"))

            # Position embeddings interpolated (HF interpolate_pos_encoding=True) at other sizes.
            interp = []
            patch = spec["vision"]["patch_size"]
            for (h, w) in [(crop + 2 * patch, crop + 2 * patch), (crop - patch, crop + patch), (crop + patch + 5, crop + 3)]:
                x = torch.from_numpy(synthetic_pixels(h, w))[None]
                o = model.vision_model(pixel_values=x, interpolate_pos_encoding=True)
                proj = model.visual_projection(o.pooler_output)[0]
                interp.append({"height": h, "width": w, "image_embeds": f32(proj.numpy())})
            x = torch.from_numpy(synthetic_pixels(crop, crop))[None]
            plain = model.visual_projection(model.vision_model(pixel_values=x).pooler_output)[0]

        out["models"][name] = {"text": texts, "images": images, "interpolated": interp,
                               "synthetic": {"height": crop, "width": crop, "image_embeds": f32(plain.numpy())},
                               "logit_scale": float(model.logit_scale.exp()),
                               "projection_dim": spec["projection_dim"]}

        if name == "clip-tiny-b32":
            # The separate-tower layouts, checked against the full model.
            vdir, tdir = folder + "-vision", folder + "-text"
            shutil.rmtree(vdir, ignore_errors=True); shutil.rmtree(tdir, ignore_errors=True)
            vm = CLIPVisionModelWithProjection.from_pretrained(folder).eval()
            tm = CLIPTextModelWithProjection.from_pretrained(folder).eval()
            vm.save_pretrained(vdir); pil_proc.save_pretrained(vdir)
            tm.save_pretrained(tdir); tokenizer.save_pretrained(tdir)
            for f in ["vocab.json", "merges.txt"]:
                shutil.copy(os.path.join(tok_dir, f), os.path.join(tdir, f))
            with torch.no_grad():
                x = pil_proc(pil_rgb(os.path.join(IMAGES, "scene-320x200.png")), return_tensors="pt")["pixel_values"]
                a = vm(pixel_values=x).image_embeds[0].numpy()
                b = np.frombuffer(base64.b64decode(images["scene-320x200.png"]["image_embeds"]), "<f4")
                assert np.abs(a - b).max() < 1e-6
                ids = torch.tensor([texts[5]["ids"]])
                a = tm(input_ids=ids).text_embeds[0].numpy()
                b = np.frombuffer(base64.b64decode(texts[5]["text_embeds"]), "<f4")
                assert np.abs(a - b).max() < 1e-6

    tables = unicode_tables()
    tables["nfc_cases"] = nfc_cases()
    with open(os.path.join(ROOT, "Tests", "InferenceTests", "Golden", "clip-unicode.json"), "w") as f:
        json.dump(tables, f, separators=(",", ":"), ensure_ascii=False)
    tokenizer = CLIPTokenizerFast.from_pretrained(os.path.join(FIX, "clip-tiny-b32"))
    out["fuzz"] = [{"text": t, "ids": tokenizer(t, truncation=True, max_length=77)["input_ids"]} for t in fuzz_texts()]
    with open(os.path.join(GOLD, "clip-golden.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"), ensure_ascii=False)
    for d in sorted(glob.glob(os.path.join(FIX, "clip-tiny-*"))):
        size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(d, "*")))
        print(f"{os.path.relpath(d, ROOT)}: {size / 1024:.0f} KiB: {', '.join(sorted(os.listdir(d)))}")
    print(f"vocab {len(vocab)} tokens, {len(merges)} merges; {len(PROMPTS)} prompts; {len(own)} + {len(shared)} images")


if __name__ == "__main__":
    main()
