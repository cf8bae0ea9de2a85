#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora at run time into an ignored folder
# (default .build-fuzz/corpus): never committed, never copied into the repo.
#   metadata/: a selection of ../shared/fixtures/sd-meta (up to 4 files per
#              source, every container), each cut to its first 64 KiB, plus
#              small files built here the way the tests' MetadataFileBuilder
#              builds them (PNG tEXt/zTXt/iTXt, JPEG and WebP EXIF
#              UserComment, an alpha-LSB stealth payload);
#   protocol/: request lines from docs/PROTOCOL.md, one per file, and one
#              file of several lines.
# Usage: Fuzz/seeds.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build-fuzz/corpus}"
rm -rf "$out/metadata" "$out/protocol"
mkdir -p "$out/metadata" "$out/protocol"

fixtures=../shared/fixtures/sd-meta
if [ -d "$fixtures" ]; then
    for source in $(ls "$fixtures" | grep __ | sed 's/__.*//' | sort -u); do
        ls "$fixtures" | grep "^${source}__" | awk 'NR % 3 == 1' | head -4 | while read -r f; do
            head -c 65536 "$fixtures/$f" > "$out/metadata/$f"
        done
    done
else
    echo "seeds: $fixtures is absent: only the built seeds" >&2
fi

python3 - "$out/metadata" <<'PY'
import struct, sys, zlib, os
out = sys.argv[1]
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 6, 0, 0, 0))
idat = chunk(b"IDAT", zlib.compress(b"".join(b"\0" + b"\x80\x80\x80\xff" * 8 for _ in range(8))))
def png(*chunks): return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(chunks) + idat + chunk(b"IEND", b"")
a1111 = "a red cube on a table, best quality\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model hash: abc123, Model: sd15"
comfy = '{"3":{"class_type":"KSampler","inputs":{"seed":1,"steps":20,"cfg":7,"positive":["6",0],"negative":["7",0]}},"6":{"class_type":"CLIPTextEncode","inputs":{"text":"a blue sphere"}},"7":{"class_type":"CLIPTextEncode","inputs":{"text":"ugly"}}}'
files = {
    "built-tEXt.png": png(chunk(b"tEXt", b"parameters\0" + a1111.encode("latin-1"))),
    "built-zTXt.png": png(chunk(b"zTXt", b"parameters\0\0" + zlib.compress(a1111.encode()))),
    "built-iTXt.png": png(chunk(b"iTXt", b"parameters\0\1\0\0\0" + zlib.compress(a1111.encode()))),
    "built-comfy.png": png(chunk(b"tEXt", b"prompt\0" + comfy.encode())),
}
def tiff(comment):
    # Big-endian TIFF: IFD0 with an ExifIFD pointer, Exif IFD with UserComment.
    ifd0 = struct.pack(">H", 1) + struct.pack(">HHII", 0x8769, 4, 1, 26) + struct.pack(">I", 0)
    exif = struct.pack(">H", 1) + struct.pack(">HHII", 0x9286, 7, len(comment), 44) + struct.pack(">I", 0)
    return b"MM\0\x2a" + struct.pack(">I", 8) + ifd0 + exif + comment
comment = b"UNICODE\0" + a1111.encode("utf-16-be")
t = tiff(comment)
app1 = b"Exif\0\0" + t
files["built-exif.jpg"] = b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9"
exif = chunk(b"", b"")  # placeholder, WebP chunks are little-endian
payload = b"EXIF" + struct.pack("<I", len(t)) + t + (b"\0" if len(t) % 2 else b"")
vp8l = b"VP8L" + struct.pack("<I", 5) + b"\x2f\0\0\0\0" + b"\0"
body = b"WEBP" + vp8l + payload
files["built-exif.webp"] = b"RIFF" + struct.pack("<I", len(body)) + body
# Stealth: the fuzz target reads byte 0 as width-1 (mod 32), then RGBA rows;
# bits run column by column through the alpha LSBs.
w, h = 16, 128
bits = "".join(f"{b:08b}" for b in b"stealth_pnginfo" + struct.pack(">I", len(a1111.encode()) * 8) + a1111.encode())
px = bytearray(b"\x80\x80\x80\xfe" * (w * h))
for i, bit in enumerate(bits[: w * h]):
    x, y = divmod(i, h)
    px[(y * w + x) * 4 + 3] |= int(bit)
files["built-stealth.rgba"] = bytes([w - 1]) + bytes(px)
for name, data in files.items():
    open(os.path.join(out, name), "wb").write(data)
PY

n=0
while IFS= read -r line; do
    n=$((n + 1)); printf '%s\n' "$line" > "$out/protocol/line-$n"
done <<'LINES'
{"v": 1, "id": 7, "op": "status"}
{"op": "search", "query": "a cat in a hat", "k": 10, "folder": "/srv/img", "has_prompt": true, "since": 1700000000, "until": 1800000000.5, "model": "sdxl", "text": "cat"}
{"op": "search", "max_alignment": 0.25, "tier": "hard", "id": null}
{"op": "search", "query": "x", "k": "10"}
{"op": "similar", "path": "/srv/img/a.png", "k": 3, "id": "s1"}
{"op": "caption", "name": "display name", "embedding": false}
{"op": "watch_add", "path": "/srv/img"}
{"op": "watch_remove", "path": "/srv/img", "id": [1, {"a": 2.5}]}
{"op": "watch_list"}
{"op": "reindex", "path": "/srv/img/sub"}
{"op": "train", "cancel": true}
{"op": "prompts_import", "prompts": ["a cat", "a dog, oil painting"], "source": "corpus.txt"}
{"op": "eval_add", "session": "e1", "name": "x.png", "prompt": "a cat"}
{"op": "eval_run", "session": "e1", "captions": true}
{"op": "failed", "limit": 20, "offset": 40}
{"v": 2, "op": "status"}
{"op": "nope"}
LINES
cat "$out"/protocol/line-* > "$out/protocol/several-lines"
echo "seeds: $(ls "$out/metadata" | wc -l) metadata, $(ls "$out/protocol" | wc -l) protocol inputs in $out"
