# Shared by bench/learning.sh and bench/quality.sh (sourced, not run):
# a real revsdd on a library folder indexes it (both phases), trains, and
# `revsdctl eval`s another folder; the JSON lands in $work/NAME.{train,time,eval}.json.
#   evaluate BIN-DIR NAME LIBRARY-DIR EVAL-DIR EXPECTED-COUNT
evaluate() {
  local bin="$1" name="$2" lib="$3" dir="$4" count="$5" sock="$work/$2.sock"
  printf '[learning]\nretrain_after = 0\n' > "$work/$name.toml"
  "$bin/revsdd" --watch "$lib" --state-dir "$work/$name-state" --socket "$sock" --config "$work/$name.toml" >"$work/$name.log" 2>&1 &
  echo $! > "$work/$name.pid"
  until "$bin/revsdctl" status --socket "$sock" --json >/dev/null 2>&1; do sleep 0.2; done
  until [ "$("$bin/revsdctl" status --socket "$sock" --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(int(s["queued"]==0 and s.get("analysis_queued",0)==0 and s["indexed"]+s["failed"]>='"$count"'))')" = 1 ]; do sleep 0.5; done
  local t0; t0=$(date +%s.%N)
  "$bin/revsdctl" train --socket "$sock" --json > "$work/$name.train.json"
  echo "{\"train_seconds\": $(echo "$(date +%s.%N) - $t0" | bc)}" > "$work/$name.time.json"
  "$bin/revsdctl" eval --socket "$sock" --json "$dir" > "$work/$name.eval.json"
  kill -TERM "$(cat "$work/$name.pid")"; wait "$(cat "$work/$name.pid")" 2>/dev/null || true
}

# ../shared/fixtures/sd-meta split in two folders, LIB and EVAL: by the
# file's sha256 (`hash`: files of one prompt fall on both sides), by its
# expected prompt (`prompt`: no prompt on both sides), or by prompt family
# (`family`: prompts whose word sets overlap by Jaccard >= 0.6 are one
# family, so the same prompt with a tag changed is on one side only; split
# by prompt, about half the held-out fixtures have a library prompt at
# MiniLM cosine >= 0.9), or in name order (`order`: the first 40 files by
# name as the library, the next 40 held out, as a user who trains on one
# batch and asks about the next: most share a library prompt as other
# pictures). Prints the library's size.
#   split_fixtures hash|prompt|family|order LIB EVAL
split_fixtures() {
  python3 - "$1" "$2" "$3" <<'PY'
import csv, hashlib, os, re, shutil, sys
how, lib, ev = sys.argv[1:]
src = "../shared/fixtures/sd-meta"
prompts = {}
with open(os.path.join(src, "expected.tsv"), newline="") as f:
    for row in csv.DictReader(f, delimiter="\t"):
        prompts[row["filename"]] = " ".join(row.get("positive_prompt", "").replace("\\n", " ").lower().split())
family = {}
if how == "family":
    # Union-find over distinct prompts; a family is named by its smallest prompt.
    distinct = sorted(set(prompts.values()))
    words = {p: set(re.findall(r"[a-z0-9]+", p)) for p in distinct}
    parent = {p: p for p in distinct}
    def root(p):
        while parent[p] != p:
            parent[p] = parent[parent[p]]; p = parent[p]
        return p
    for i, a in enumerate(distinct):
        for b in distinct[i + 1:]:
            wa, wb = words[a], words[b]
            if wa and wb and len(wa & wb) / len(wa | wb) >= 0.6:
                ra, rb = root(a), root(b)
                if ra != rb: parent[max(ra, rb)] = min(ra, rb)
    family = {p: root(p) for p in distinct}
os.makedirs(lib, exist_ok=True); os.makedirs(ev, exist_ok=True)
n = 0
images = [name for name in sorted(os.listdir(src)) if name.lower().endswith((".png", ".jpg", ".jpeg", ".webp"))]
if how == "order":
    for i, name in enumerate(images[:80]):
        shutil.copy(os.path.join(src, name), lib if i < 40 else ev)
    print(min(40, len(images)))
    sys.exit(0)
for name in images:
    data = open(os.path.join(src, name), "rb").read()
    prompt = prompts.get(name, name)
    key = hashlib.sha256(data).digest() if how == "hash" else hashlib.sha256(family.get(prompt, prompt).encode()).digest()
    to_library = key[0] % 2 == 0
    shutil.copy(os.path.join(src, name), lib if to_library else ev)
    n += to_library
print(n)
PY
}
