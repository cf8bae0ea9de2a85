#!/usr/bin/env bash
# Benchmark of learning (#4), in one run on this machine:
#  - training time per 1,000 examples per technique (the whole library
#    trainer on synthetic 1280-d features of a real shape, 1k and 5k rows);
#  - peak RSS training on 100,000 labelled images of one encoder (MLP epochs
#    capped at 2 there: memory does not depend on the number of epochs);
#  - the `revsdctl eval` table on the generated set (revsdd indexes N labelled
#    generated images, trains, evaluates M held-out stripped ones) and on
#    ../shared/fixtures/sd-meta (half of the files by content hash is the
#    library, the other half is evaluated).
# Rewrites the "learning" section of bench/RESULTS.md.
#   bench/learning.sh [labelled-images] [held-out-images]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"; m="${2:-200}"
swift build -c release --product revsdd >/dev/null
swift build -c release --product revsdctl >/dev/null
swift build -c release --product revsd-bench >/dev/null
.build/release/revsdctl models fetch >/dev/null
bin="$PWD/.build/release"

work="$(mktemp -d)"; trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

t1k="$("$bin/revsd-bench" train --examples 1000)"; echo "$t1k"
t5k="$("$bin/revsd-bench" train --examples 5000)"; echo "$t5k"
t100k="$("$bin/revsd-bench" train --examples 100000 --max-epochs 2)"; echo "$t100k"

. bench/eval_lib.sh

"$bin/revsd-bench" synth --out "$work/gen-lib" --count "$n" --seed 1 >/dev/null
"$bin/revsd-bench" synth --out "$work/gen-eval" --count "$m" --seed 2 --stripped >/dev/null
evaluate "$bin" generated "$work/gen-lib" "$work/gen-eval" "$n"

fixtures=0
if [ -d ../shared/fixtures/sd-meta ]; then
  fixtures="$(split_fixtures hash "$work/fx-lib" "$work/fx-eval")"
  evaluate "$bin" fixtures "$work/fx-lib" "$work/fx-eval" "$fixtures"
fi

python3 - "$work" "$n" "$m" "$fixtures" "$t1k" "$t5k" "$t100k" "$(python3 bench/results.py --machine)" <<'PY' | python3 bench/results.py learning
import json, os, sys
work, n, m, fixtures, t1k, t5k, t100k, machine = sys.argv[1:]
t1k, t5k, t100k = json.loads(t1k), json.loads(t5k), json.loads(t100k)
print("## Learning: training time, memory, and `revsdctl eval`\n")
print(f"Run {machine}. Release builds.\n")
print("### Training time per 1,000 labelled examples, per technique (one 1280-d encoder)\n")
keys = ["ridge", "k-NN", "MLP vanilla", "MLP +MLC and +MLC+CL", "DAKL", "alignment"]
print("| examples | " + " | ".join(keys) + " | total | peak RSS |")
print("|---:|" + "---:|" * (len(keys) + 2))
for t in (t1k, t5k):
    per = t["seconds_per_1000_examples"]
    print(f"| {t['examples']:,} | " + " | ".join(f"{per.get(k, 0):.2f} s" for k in keys) + f" | {t['seconds'] / (t['examples'] / 1000):.2f} s | {t['peak_rss_mib']:.0f} MiB |")
print(f"\nTraining on **100,000** labelled examples of one 1280-d encoder (MLP epochs capped at {t100k['max_epochs']}; memory does not grow with epochs): "
      f"**peak RSS {t100k['peak_rss_mib'] / 1024:.2f} GiB**, {t100k['seconds'] / 60:.1f} min in all "
      f"({', '.join(f'{k} {v:.0f} s' for k, v in sorted(t100k['seconds_by_technique'].items()))}); {t100k['dakl_centroids']} DAKL centroids.")
print("\nSynthetic rows (`revsd-bench train`): 50 topics, targets = the topic's unit vector + noise, features = relu(targets·M + noise); "
      "\"MLP +MLC and +MLC+CL\" is the paper's curriculum procedure (a vanilla run with the keyword head that scores every example, then the curriculum run). "
      "\"alignment\" is the 5-fold out-of-fold ridge + k-NN ensemble that scores every labelled image.\n")
def table(name, title):
    ev = json.load(open(os.path.join(work, name + ".eval.json")))
    tr = json.load(open(os.path.join(work, name + ".train.json")))
    secs = json.load(open(os.path.join(work, name + ".time.json")))["train_seconds"]
    print(f"### {title}\n")
    print(f"{ev['images']} evaluated images; trained on {tr.get('examples')} labelled images in {secs:.0f} s "
          f"(validation mean cosine {tr.get('validation_mean_cosine', 0):.4f}, constant {tr.get('constant_mean_cosine', 0):.4f}"
          + (f", zero-shot {tr['zero_shot_mean_cosine']:.4f}" if 'zero_shot_mean_cosine' in tr else "") + "; "
          + ("adopted" if tr.get('adopted', True) else "not adopted: " + tr.get('not_adopted_reason', '')) + ").\n")
    print("| encoder | head | technique | mean cosine |")
    print("|---|---|---|---:|")
    for r in ev["rows"]:
        print(f"| {r['encoder']} | {r['head']} | {r['technique']} | {r['mean_cosine']:.4f} |")
    print(f"| **ensemble** | all | weighted | **{ev['ensemble']['mean_cosine']:.4f}** |")
    print(f"| constant baseline | mean training embedding | | {ev['constant']['mean_cosine']:.4f} |")
    if ev.get("zero_shot"):
        print(f"| zero-shot (no training) | ImageNet classes + prior | | {ev['zero_shot']['mean_cosine']:.4f} |")
    print(f"\n1-NN captions: exact match {ev['caption']['exact_match_rate'] * 100:.1f} %, mean cosine {ev['caption']['mean_cosine']:.4f}. "
          f"RefCLIPScore: {'n/a (no CLIP model here)' if 'refclipscore' not in ev else ev['refclipscore']['refclip_s']}.\n")
table("generated", f"`revsdctl eval` on the generated set ({n} labelled, {m} held-out stripped)")
if int(fixtures) > 0:
    table("fixtures", f"`revsdctl eval` on ../shared/fixtures/sd-meta ({fixtures} files as the library, the rest evaluated)")
print("Reproduce: `bench/learning.sh [labelled] [held-out]`.")
PY
