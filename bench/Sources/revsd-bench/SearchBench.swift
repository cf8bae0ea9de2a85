import Foundation
import Inference
import Models
import RevsdSystem
import Search
import SyntheticImages

/// Search latency, recall and memory over a synthetic library of about N
/// images (SyntheticEmbeddings: the themes are real all-MiniLM-L6-v2
/// embeddings of the first `--centres` real prompts of
/// ../shared/fixtures/prompts/real-sd-prompts.tsv; 4–8 near-duplicate images
/// per prompt, a third with known-prompt rows, noisier predicted rows).
///
///   revsd-bench search [--n 100000] [--queries 200] [--centres 3000] [--seed 1]
///                      [--prompts TSV] [--models DIR] [--exact]
///
/// Queries are real MiniLM embeddings of short texts: the first 2–6 words of
/// held-out real prompts (those after the centres), embedded inside the timed
/// loop (p50/p99 include the embedding, as the daemon's search does).
/// `recall_at_10` compares each result with the exact float32 scan over the
/// same vectors, computed here chunk by chunk while the library is loaded (so
/// the bench never holds the whole matrix itself); `recall_at_10_prompts`
/// does the same for fresh prompt-like vectors from the generator (queries
/// close to many near-duplicates, the hard case). `rss_mib` is VmRSS after
/// loading, `rss_trimmed_mib` after malloc_trim (the heap the generator's
/// chunks freed, handed back), `rss_before_mib` before the first row
/// (encoder, centres, truth): the index holds about trimmed − before.
func benchSearch() {
    let n = Int(argument("--n", args) ?? "100000") ?? 100_000
    let queries = Int(argument("--queries", args) ?? "200") ?? 200
    let centreCount = Int(argument("--centres", args) ?? "3000") ?? 3000
    let seed = UInt64(argument("--seed", args) ?? "1") ?? 1
    let promptsPath = argument("--prompts", args) ?? "../shared/fixtures/prompts/real-sd-prompts.tsv"
    let k = 10, d = 384
    let encoder: SentenceEncoder
    do { encoder = try SentenceEncoder(folder: ModelStore.resolve(explicit: argument("--models", args)).promptEncoderFolder()) } catch { die("\(error)") }
    let prompts: [String]
    do { prompts = try TextInput.lines(of: promptsPath).dropFirst().map { String($0.split(separator: "\t").first ?? "") } } catch { die("\(error)") }
    guard prompts.count >= centreCount + queries else { die("\(promptsPath): \(prompts.count) prompts, need \(centreCount + queries)") }

    let setupStart = clock.now
    let centres = Array(encoder.embed(Array(prompts[0..<centreCount]), batchSize: 32).joined())
    let texts = (0..<queries).map { i in
        prompts[centreCount + i].split(separator: " ").prefix(2 + i % 5).joined(separator: " ")
    }
    let textQueries = encoder.embed(texts, batchSize: 32)
    let library = SyntheticEmbeddings(centres: centres, dimension: d, seed: seed)
    let promptQueries = library.promptQueries(count: queries)
    var truth = TopK.Many(queries: textQueries + promptQueries, k: k)
    let setupSeconds = elapsedSeconds(since: setupStart)

    // Prompts until the library has n images.
    var promptCount = 0, images = 0
    while images < n { images += library.prompt(promptCount).images; promptCount += 1 }

    // --exact: float32 rows and the exact BLAS scan at any size (the index before codes).
    let index = args.contains("--exact") ? SearchIndex(dimension: d, approximateAbove: .max) : SearchIndex(dimension: d)
    let rssBefore = residentMiB()
    var loadSeconds = 0.0, rows = 0, truthSeconds = 0.0
    var next = 0, firstImage: Int64 = 0
    while next < promptCount {
        let chunk = next..<min(promptCount, next + 8192)
        let part = library.rows(prompts: chunk, firstImage: firstImage)
        let t0 = clock.now
        truth.add(part.predicted, ids: part.ids)
        truth.add(part.known, ids: part.knownIDs)
        truthSeconds += elapsedSeconds(since: t0)
        let t1 = clock.now
        index.load(ids: part.ids, vectors: part.predicted, kind: .predicted)
        index.load(ids: part.knownIDs, vectors: part.known, kind: .knownPrompt)
        loadSeconds += elapsedSeconds(since: t1)
        rows += part.ids.count + part.knownIDs.count
        firstImage += Int64(part.ids.count)
        next = chunk.upperBound
    }
    let rssAfter = residentMiB()
    returnFreedHeap()
    let rssTrimmed = residentMiB()

    _ = index.search(encoder.embed(["warm up"])[0], k: k)
    var total: [Double] = [], scan: [Double] = [], recall = 0.0
    for i in 0..<queries {
        let start = clock.now
        let q = encoder.embed([texts[i]])[0]
        let mid = clock.now
        let got = index.search(q, k: k)
        total.append(elapsedSeconds(since: start) * 1000)
        scan.append(elapsedSeconds(since: mid) * 1000)
        recall += truth.recall(of: got.map(\.id), query: i)
    }
    var promptRecall = 0.0
    for (i, q) in promptQueries.enumerated() {
        promptRecall += truth.recall(of: index.search(q, k: k).map(\.id), query: queries + i)
    }
    func pct(_ a: [Double], _ p: Double) -> Double { let s = a.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }
    func f(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
    print("{\"n\":\(images),\"rows\":\(rows),\"queries\":\(queries),\"p50_ms\":\(f(pct(total, 0.5))),\"p99_ms\":\(f(pct(total, 0.99))),"
        + "\"scan_p50_ms\":\(f(pct(scan, 0.5))),\"scan_p99_ms\":\(f(pct(scan, 0.99))),"
        + "\"recall_at_10\":\(f(recall / Double(queries), 4)),\"recall_at_10_prompts\":\(f(promptRecall / Double(queries), 4)),"
        + "\"rss_mib\":\(f(rssAfter, 0)),\"rss_trimmed_mib\":\(f(rssTrimmed, 0)),\"rss_before_mib\":\(f(rssBefore, 0)),\"load_s\":\(f(loadSeconds)),"
        + "\"truth_s\":\(f(truthSeconds)),\"setup_s\":\(f(setupSeconds, 1))}")
}

/// VmRSS of this process, in MiB (0 where /proc is not there).
func residentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

/// The exact answer, built incrementally: for each query, the best `k`
/// images by their best row (score descending, then id ascending: the
/// index's order), from float32 products through BLAS.
enum TopK {
    struct Many {
        let d: Int, k: Int, count: Int
        /// (count, d) queries.
        let queries: [Float]
        var best: [[(id: Int64, score: Float)]]

        init(queries: [[Float]], k: Int) {
            self.d = queries[0].count; self.k = k; self.count = queries.count
            self.queries = Array(queries.joined())
            best = Array(repeating: [], count: queries.count)
        }

        /// Rows (rows.count / d, d) with their image ids. An image's rows
        /// of both kinds may come in two calls: an image keeps its best score.
        mutating func add(_ rows: [Float], ids: [Int64]) {
            let r = ids.count
            guard r > 0 else { return }
            var scores = [Float](repeating: 0, count: r * count)   // (r, queries)
            rows.withUnsafeBufferPointer { a in
                queries.withUnsafeBufferPointer { q in
                    scores.withUnsafeMutableBufferPointer { s in
                        BLAS.gemm(MatrixRef(a.baseAddress!, rows: r, cols: d), MatrixRef(q.baseAddress!, rows: count, cols: d),
                                  transposeB: true, MutableMatrixRef(s.baseAddress!, rows: r, cols: count))
                    }
                }
            }
            for j in 0..<count {
                var list = best[j]
                let floor = list.count == k ? list[k - 1].score : -Float.infinity
                for i in 0..<r where scores[i * count + j] >= floor {
                    let id = ids[i], s = scores[i * count + j]
                    if let at = list.firstIndex(where: { $0.id == id }) {
                        if s <= list[at].score { continue }
                        list.remove(at: at)
                    }
                    list.append((id, s))
                    list.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
                    if list.count > k + 8 { list.removeLast() }
                }
                best[j] = list
            }
        }

        func recall(of got: [Int64], query j: Int) -> Double {
            let truth = Set(best[j].prefix(k).map(\.id))
            return Double(got.filter(truth.contains).count) / Double(k)
        }
    }
}

/// glibc's malloc_trim(0): heap memory freed by the generator's chunks (and
/// anything else) handed back, so that VmRSS shows what is still held.
func returnFreedHeap() {
    guard let process = dlopen(nil, RTLD_NOW), let f = dlsym(process, "malloc_trim") else { return }
    _ = unsafeBitCast(f, to: (@convention(c) (Int) -> Int32).self)(0)
}
