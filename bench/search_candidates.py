#!/usr/bin/env python3
"""Recall@10 of the search methods revsd considered, on the bench's library.

The rows and queries are those of `revsd-bench search --n N --dump DIR`
(real MiniLM centres and queries, SyntheticEmbeddings rows). Every method is
scored against the exact float32 scan (an image scores its best row; ties by
id), on the first 100 short-text and 100 prompt-like queries. Recall only:
speed depends on the implementation, and bytes read per query are printed
for that. Needs numpy.

    bench/search_candidates.py DIR [final|ivf|pca8|pca4|all]
"""
import sys
import numpy as np

K = 10


def load(d):
    f = lambda name, t: np.fromfile(f"{d}/{name}", dtype=t)
    pred, known = f("pred.f32", np.float32).reshape(-1, 384), f("known.f32", np.float32).reshape(-1, 384)
    X = np.concatenate([pred, known])
    ids = np.concatenate([f("pred.ids", np.int64), f("known.ids", np.int64)])
    Q = np.concatenate([f("tq.f32", np.float32).reshape(-1, 384)[:100], f("pq.f32", np.float32).reshape(-1, 384)[:100]])
    return X, ids, Q


def top_images(row_scores, ids, nimg, candidates=None):
    img = np.full(nimg, -np.inf, dtype=np.float32)
    np.maximum.at(img, ids if candidates is None else ids[candidates], row_scores)
    o = np.argpartition(-img, K + 20)[:K + 20]
    return set(o[np.lexsort((o, -img[o]))][:K].tolist())


def report(name, bytes_per_row, scanned_rows, recalls):
    r = np.array(recalls)
    print(f"{name:48s} {bytes_per_row:5.0f} B/row  {scanned_rows / 1e6:7.1f} MB/query  "
          f"recall text {r[:100].mean():.4f} prompt {r[100:].mean():.4f}", flush=True)


def main():
    X, ids, Q = load(sys.argv[1])
    what = sys.argv[2] if len(sys.argv) > 2 else "all"
    N, nimg = len(X), int(ids.max()) + 1
    S = Q @ X.T
    truth = [top_images(s, ids, nimg) for s in S]
    rng = np.random.default_rng(0)
    sample = X[rng.choice(N, min(N, 65536), replace=False)]
    mu = sample.mean(0)

    if what in ("final", "all"):
        # Final scores from quantised rows alone (the best possible first pass).
        def per_row(V, bits):
            m = np.abs(V).max(1, keepdims=True)
            L = 2 ** (bits - 1) - 1
            return (np.round(V / m * L) * (m / L)).astype(np.float32)
        for name, V, b in [("final scores: float16", X.astype(np.float16).astype(np.float32), 768)] + \
                [(f"final scores: int{b} per row (v - mean)", per_row(X - mu, b) + mu, 384 * b / 8 + 4) for b in (8, 10, 12, 14)]:
            report(name, b, 0, [len(top_images(s, ids, nimg) & t) / K for s, t in zip(Q @ V.T, truth)])

    if what in ("ivf", "all"):
        # Inverted file: k-means lists (trained on the sample), int8 rows, nprobe lists scanned.
        lists = 256
        C = sample[rng.choice(len(sample), lists, replace=False)].copy()
        for _ in range(10):
            a = np.argmax(sample @ C.T, 1)
            for j in range(lists):
                if (a == j).any():
                    C[j] = sample[a == j].mean(0)
            C /= np.linalg.norm(C, axis=1, keepdims=True)
        a = np.concatenate([np.argmax(X[i:i + 65536] @ C.T, 1) for i in range(0, N, 65536)])
        order = np.argsort(a, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(a, minlength=lists))])
        for nprobe in (8, 16, 32, 64, 128):
            rec, scanned = [], 0
            for qi, q in enumerate(Q):
                probe = np.argpartition(-(C @ q), nprobe)[:nprobe]
                rows = np.concatenate([order[starts[p]:starts[p + 1]] for p in probe])
                scanned += len(rows)
                # The true scores of every row in the probed lists: recall is the probing's alone.
                rec.append(len(top_images(S[qi][rows], ids, nimg, rows) & truth[qi]) / K)
            report(f"IVF {lists}, nprobe {nprobe} ({100 * scanned / len(Q) / N:.0f} % rows, exact in lists)", 388, scanned / len(Q) * 388, rec)

    cov = np.cov((sample - mu).T)
    _, U = np.linalg.eigh(cov)
    U = U[:, ::-1]
    for bits, axes_list, clip in [(8, (32, 64, 96), 4.0), (4, (64, 96, 128), 2.5)]:
        if what not in (f"pca{bits}", "all"):
            continue
        L = 2 ** bits - 1
        for m in axes_list:
            P = ((X - mu) @ U[:, :m]).astype(np.float32)
            sd = P[:65536].std(0)
            lo, step = -clip * sd, 2 * clip * sd / L
            code = np.clip(np.round((P - lo) / step), 0, L).astype(np.float32)
            del P
            keeps = (1000, 2000, 4000)
            rec = {r: [] for r in keeps}
            for qi, q in enumerate(Q):
                approx = code @ ((U[:, :m].T @ q) * step).astype(np.float32)
                top = np.argpartition(-approx, max(keeps))[:max(keeps)]
                top = top[np.argsort(-approx[top])]
                for r in keeps:
                    # The best `r` rows' images, scored exactly (by every row).
                    cand = np.unique(ids[top[:r]])
                    img = np.full(nimg, -np.inf, dtype=np.float32)
                    np.maximum.at(img, ids, S[qi])
                    o = cand[np.lexsort((cand, -img[cand]))][:K]
                    rec[r].append(len(set(o.tolist()) & truth[qi]) / K)
            for r in keeps:
                report(f"PCA {m} axes x {bits} bits, keep {r} rows", m * bits / 8, N * m * bits / 8, rec[r])


if __name__ == "__main__":
    main()
