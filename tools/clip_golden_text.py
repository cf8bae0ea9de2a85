"""Text for tools/make_clip_golden.py, written for revsd: the phrases the tiny
BPE vocabulary is learnt from, and the prompts whose token ids and CLIP text
embeddings are checked (weights, emoji, CJK, accents, odd spaces, special-token
look-alikes, prompts longer than 77 tokens)."""
import random

# Training text for the BPE vocabulary: phrases written for this script.
SUBJECTS = ["a cat", "a dog", "an old man", "a young woman", "a knight", "a dragon", "a castle", "a robot",
            "a forest", "a city street", "a mountain lake", "a spaceship", "a bowl of ramen", "a lighthouse",
            "a wizard", "a fox", "an astronaut", "a samurai", "a garden", "a waterfall", "a girl", "a boy",
            "a portrait", "a landscape", "a still life", "a cottage", "a temple", "a ship", "a horse", "an owl"]
PLACES = ["in the rain", "at night", "at sunset", "on the moon", "in a forest", "by the sea", "in a library",
          "under the stars", "in the snow", "in a desert", "on a hill", "in a cyberpunk city", "in space"]
STYLES = ["masterpiece", "best quality", "highly detailed", "ultra detailed", "intricate", "sharp focus",
          "digital painting", "oil painting", "watercolor", "concept art", "illustration", "photorealistic",
          "cinematic lighting", "volumetric light", "soft lighting", "dramatic lighting", "golden hour",
          "trending on artstation", "octane render", "unreal engine", "8k", "4k", "hdr", "bokeh", "35mm",
          "85mm", "film grain", "anime style", "studio ghibli", "by greg rutkowski", "by alphonse mucha",
          "vibrant colors", "pastel colors", "matte painting", "award winning photo", "depth of field"]
EXTRA = ["lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, cropped, worst quality",
         "it's what they're doing, we've seen it, i'm sure you'll like it, he'd said so, don't",
         "1girl, solo, long hair, looking at viewer, smile, blue eyes, school uniform",
         "café crème brûlée, naïve résumé, façade, Ångström, Straße, groß, weiß, señor, niño",
         "東京の夜景、ネオン、雨の街 一只可爱的猫 한국어 아름다운 풍경 Привет мир кот",
         "Ελληνικά γράμματα αθήνα, مرحبا بالعالم, नमस्ते दुनिया",
         "the quick brown fox jumps over the lazy dog 0123456789 (masterpiece:1.2) [cat|dog] <lora:detail:0.8>",
         "steps 20, sampler euler a, cfg scale 7, seed 12345, size 512x768"]


def training_text():
    rng = random.Random(7)
    lines = list(EXTRA)
    for _ in range(1200):
        parts = [rng.choice(SUBJECTS) + " " + rng.choice(PLACES)] + rng.sample(STYLES, rng.randint(2, 6))
        lines.append(", ".join(parts))
    return lines



LONG = ("masterpiece, best quality, ultra detailed, 8k wallpaper, a cinematic photograph of an ancient library "
        "carved into a mountain, towering shelves, floating candles, dust motes in volumetric light, ")
PROMPTS = [
    "",
    " ",
    "a horse",
    "A Horse",
    "a photo of a cat sitting on a windowsill",
    "an astronaut riding a horse on the moon, highly detailed, 4k",
    "(masterpiece:1.2), (best quality:1.3), 1girl, solo, long hair, looking at viewer",
    "((extremely detailed)), [[blurry]], (worst quality:0.6)",
    "a [cat|dog] in a [red:blue:0.5] room",
    "<lora:add_detail:0.8> portrait of a knight, <hypernet:anime:0.5>",
    "landscape, mountains, lake, sunrise, by greg rutkowski and alphonse mucha, trending on artstation",
    "cyberpunk city at night, neon lights, rain, reflections, octane render, unreal engine 5",
    "lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, cropped",
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234567890, Size: 512x768, Model hash: 6ce0161689",
    "BREAK a castle on a hill BREAK dramatic clouds AND a moon",
    "embedding:easynegative, (hands:1.1), {wildcard|other}, __colors__",
    r"a \(escaped\) paren and a backslash \ here",
    "photo of a woman, 85mm, f/1.8, bokeh, golden hour — award winning",
    "it's a dog's life; they're here, we've won, I'm ok, you'll see, he'd go, don't, IT'S, It'S",
    "''s '' 's 'S rock'n'roll o'clock",
    "café crème brûlée naïve résumé façade",
    "cafe\u0301 cre\u0300me (decomposed accents, NFC composes them)",
    "Ångström Øresund Łódź Šibenik Ærøskøbing",
    "İstanbul'da ılık bir akşam, ŞİŞLİ",
    "Straße groß weiß ẞ",
    "ΣΊΣΥΦΟΣ Ελληνικά γράμματα και ΤΟΝΟΙ ά έ ή ΟΔΟΣ",
    "Привет, мир! Кот на крыше.",
    "مرحبا بالعالم",
    "नमस्ते दुनिया क्षत्रिय",
    "東京の夜景、ネオン、雨",
    "一只可爱的猫在窗台上睡觉",
    "한국어 프롬프트: 아름다운 풍경",
    "\u1112\u1161\u11ab\u1100\u1173\u11af decomposed hangul jamo",
    "ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ　ＡＢＣ１２３",
    "a cat 🐱 and a dog 🐶 😀",
    "new emoji 🥰 🥲 🫠 🦄 🧙‍♂️ 👩🏽‍🎨",
    "flags 🇯🇵🇫🇷 and keycaps 1️⃣ #️⃣",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "   leading and trailing spaces   ",
    "nbsp\u00a0here, ideographic\u3000space, thin\u2009space, nel\u0085line, zero\u200bwidth, bom\ufeffmark",
    "line\u2028separator and paragraph\u2029separator, mongolian\u180evowel",
    "ﬁne ﬂowers ﬀ ligatures, Ⅻ roman, ² superscript, ½ fraction, ① circled",
    "digits 1234567890 and 3.14159 and 1e-5 and 0x1F and ٣٤٥ and १२३",
    "x\u0301y\u0302z combining marks on odd letters",
    "control\u0001chars\u007f and private\ue000use and noncharacter\ufffe",
    "replacement \ufffd char and surrogate-free text",
    "<|startoftext|>literal special tokens<|endoftext|> in a prompt",
    "<|STARTOFTEXT|> upper case specials <|EndOfText|>",
    "a<|endoftext|>b",
    "email@example.com https://example.com/path?q=1&r=2#frag",
    "C++ and C# and .NET and node.js and snake_case and kebab-case",
    "!!!???... --- *** ### @@@ $$$ %%% ^^^ &&& ~~~ ```",
    "ALL CAPS PROMPT WITH WORDS",
    "mixedCase CamelCase iPhone eBay",
    "a photo of a 🐱‍👤 ninja cat, 4K UHD, HDR10+, 16:9",
    "score_9, score_8_up, score_7_up, source_anime, rating_safe",
    "(((masterpiece))), ((best quality)), (ultra-detailed:1.4), [lowres], {{{nsfw}}}",
    "[from:to:0.25], [cat:10], [dog::5], (word:-1), (empty:)",
    "prompt with\\nescaped newline and \\t tab",
    "the the the the the the the the",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "Ꙃ old cyrillic, ꓮ lisu, 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 math fraktur, 𝟘𝟙𝟚 math digits",
    "ภาษาไทย สวัสดี",
    "עברית שלום",
    "Tiếng Việt có dấu: phở, bánh mì, Hà Nội",
    "Ǆ ǅ ǆ titlecase digraphs, ﬀ, Å (angstrom sign), Ω (ohm sign), K (kelvin sign)",
    LONG * 3,
    ("a very long prompt " + ", ".join(f"detail number {i}" for i in range(60))),
    "🐱" * 40,
    "東京" * 50,
    "word " * 100,
]


