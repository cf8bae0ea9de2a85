#!/usr/bin/env python3
"""Replays revsd's search ranking on an index kept by `bench/relevance.py --keep DIR`,
with other ways of scoring the predictions, so that a ranking rule is chosen by
measurement on the same library (issue #12).

    bench/.venv/bin/python bench/relevance_replay.py DIR [--model MINILM-FOLDER]

Known prompts score their search row's cosine to the query plus 0.2 times the share
of the query's idf their words cover (revsd's lexical evidence, words as \\w+);
an unlabelled image scores its predicted row by the rule under test. Identical
copies and variations are not folded (revsd lists them in one hit's place), so a
replayed nDCG@10 can differ a little from the bench's. Prints one line per rule and
index ("before" and "after" training), and, for the index after training, the
rules applied to a blend of the learned and the zero-shot predictions.
"""
import argparse, json, math, os, re, sqlite3

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("keep")
ap.add_argument("--model", default="/var/lib/revsd/models/all-MiniLM-L6-v2")
ap.add_argument("--lexical-weight", type=float, default=0.2)
a = ap.parse_args()
K = 10

truth = json.load(open(os.path.join(a.keep, "truth.json"), encoding="utf-8"))
items, queries = truth["items"], truth["queries"]
rel = {q: {p for p, it in items.items() if re.search(rule, it["truth"], re.I)} for q, _, rule in queries}


def vec(blob):
    return np.frombuffer(blob, dtype=np.float32)


def load(name):
    db = sqlite3.connect(os.path.join(a.keep, f"{name}.sqlite"))
    path, pred, known = {}, {}, {}
    for iid, p, kind, v in db.execute("SELECT i.id, i.path, e.kind, e.vector FROM image i JOIN embedding e ON e.imageId = i.id "
                                      "WHERE i.status = 'indexed' AND e.kind IN ('prompt.predicted', 'prompt.search')"):
        path[iid] = os.path.realpath(p)
        (pred if kind == "prompt.predicted" else known)[iid] = vec(v)
    texts = {i: t for i, t in db.execute("SELECT rowid, searchText FROM image_prompt") if t}
    return path, pred, known, texts


def tokens(s):
    return re.findall(r"\w+", s.lower())


os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sentence_transformers import SentenceTransformer  # noqa: E402

model = SentenceTransformer(a.model, device="cpu")
Q = {q: model.encode([q], normalize_embeddings=True)[0] for q, _, _ in queries}


def ndcg(ranked, r):
    dcg = sum(1 / math.log2(i + 2) for i, p in enumerate(ranked[:K]) if p in r)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(r), K)))
    return dcg / ideal if ideal else 0.0


def replay(index, predictions, rule, second=None, second_rule=None, pick=None, per_query=None):
    """Mean nDCG@10 and relevant unlabelled images in the top 10s, predictions scored by rule(c, sigma);
    with `second` (a second prediction per image, scored by second_rule), an image scores the better of its two;
    with `pick` (a function of the query, its cosines to the known prompts and the words of it that stand in
    known prompts, returning predictions and a rule), each query's predictions and rule are its choice.
    `per_query`, a dict, receives each query's nDCG@10."""
    path, _, known, texts = index
    words = {i: set(tokens(t)) for i, t in texts.items()}
    n = max(1, len(words))
    df = {}
    for s in words.values():
        for w in s:
            df[w] = df.get(w, 0) + 1
    unlabelled = [i for i in predictions if i not in known]
    labelled = {path[i] for i in known}
    K_ids = sorted(known)
    K_m = np.array([known[i] for i in K_ids])
    U_m = np.array([predictions[i] for i in unlabelled]) if unlabelled else np.zeros((0, len(next(iter(Q.values())))))
    total, found = 0.0, 0
    for q, _, _ in queries:
        qv = Q[q]
        kc = K_m @ qv
        sigma = float(np.std(kc)) if len(kc) > 1 else 0.0
        qw = list(dict.fromkeys(tokens(q)))
        idf = {w: math.log(1 + (n - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5)) for w in qw}
        finding = [w for w in qw if 0 < df.get(w, 0) <= n / 2]
        norm = sum(idf.values()) or 1
        score = {}
        for i, c in zip(K_ids, kc):
            s = words.get(i, set())
            cover = sum(idf[w] for w in qw if w in s) / norm if any(w in s for w in finding) else 0
            score[i] = float(c) + a.lexical_weight * cover
        preds, qrule = pick(q, kc, finding) if pick else (predictions, rule)
        for i in unlabelled:
            c = float(preds.get(i, predictions[i]) @ qv)
            score[i] = qrule(c, sigma)
            if second is not None and i in second:
                score[i] = max(score[i], second_rule(float(second[i] @ qv), sigma))
        ranked = [path[i] for i in sorted(score, key=lambda i: (-score[i], i))][:K]
        total += ndcg(ranked, rel[q])
        if per_query is not None:
            per_query[q] = ndcg(ranked, rel[q])
        found += len(set(ranked) & rel[q] - labelled)
    return total / len(queries), found


def agreement(index):
    _, pred, known, _ = index
    both = [i for i in known if i in pred]
    return float(np.mean([pred[i] @ known[i] for i in both])) if both else 0.5


def rules(rho):
    out = {f"weighted rho*c (rho {rho:.3f})": lambda c, s: rho * c,
           "lifted rho*c + sqrt(1-rho^2)*sigma": lambda c, s: rho * c + math.sqrt(1 - rho * rho) * s,
           "unweighted c": lambda c, s: c}
    for w in (0.5, 0.6, 0.7, 0.8):
        out[f"weighted {w}*c"] = (lambda w: lambda c, s: w * c)(w)
    return out


before, after = load("before"), load("after")
rho_before = agreement(before)
report = {}
try:
    report = json.load(open(os.path.join(a.keep, "train.json")))
except (OSError, ValueError):
    pass
# As the daemon weighs an adopted model's predictions (ControlHandler.predictionConfidence).
if (report.get("validation_prompts") or 0) < 10 and report.get("out_of_fold_mean_cosine") is not None:
    rho_after = report["out_of_fold_mean_cosine"]
else:
    rho_after = report.get("validation_mean_cosine") or agreement(after)
for name, index, rho in (("before", before, rho_before), ("after", after, rho_after)):
    for label, rule in rules(rho).items():
        m, f = replay(index, index[1], rule)
        print(f"{name:6s}  {label:40s}  nDCG@10 {m:.3f}  unlabelled found {f}")
# After training: the learned predictions blended with the zero-shot ones they replaced.
for alpha in (0, 0.25, 0.5, 0.75, 1):
    blend = {}
    for i, p in after[1].items():
        z = before[1].get(i, p)
        v = alpha * p + (1 - alpha) * z
        blend[i] = v / np.linalg.norm(v)
    rho = rho_before + alpha * (rho_after - rho_before)
    m, f = replay(after, blend, lambda c, s: rho * c + math.sqrt(1 - rho * rho) * s)
    print(f"after   learned share {alpha:.2f}, lifted (rho {rho:.3f})   nDCG@10 {m:.3f}  unlabelled found {f}")
# After training: each unlabelled image scored by the better of its learned and its zero-shot prediction,
# each lifted with its own rho.
lift = lambda r: (lambda c, s: r * c + math.sqrt(1 - r * r) * s)
m, f = replay(after, after[1], lift(rho_after), second=before[1], second_rule=lift(rho_before))
print(f"after   better of learned (rho {rho_after:.3f}) and zero-shot (rho {rho_before:.3f}), lifted   nDCG@10 {m:.3f}  unlabelled found {f}")
# After training: per query, the learned predictions where the library's known prompts speak of what the
# query asks (a word of it stands in a known prompt, or a known prompt lies near it), else the zero-shot ones:
# what the heads learned comes from the library's prompts alone.
def by_words(q, kc, finding):
    return (after[1], lift(rho_after)) if finding else (before[1], lift(rho_before))
def by_nearest(t):
    return lambda q, kc, finding: (after[1], lift(rho_after)) if len(kc) and kc.max() >= t else (before[1], lift(rho_before))
for label, pick in [("a query word stands in a known prompt", by_words)] + \
        [(f"a known prompt within cosine {t}", by_nearest(t)) for t in (0.4, 0.5, 0.6)]:
    m, f = replay(after, after[1], None, pick=pick)
    print(f"after   learned where {label}, else zero-shot, lifted   nDCG@10 {m:.3f}  unlabelled found {f}")
