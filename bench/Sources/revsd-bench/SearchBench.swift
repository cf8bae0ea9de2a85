import Foundation
import Inference
import Models
import RevsdSystem
import Search
import Store
import SyntheticImages

/// Search latency, recall and memory over a synthetic library of about N
/// images (SyntheticEmbeddings: the themes are real all-MiniLM-L6-v2
/// embeddings of the first `--centres` real prompts of
/// ../shared/fixtures/prompts/real-sd-prompts.tsv; 4–8 near-duplicate images
/// per prompt, a third with known-prompt rows, noisier predicted rows).
///
///   revsd-bench search [--n 100000] [--queries 200] [--centres 3000] [--seed 1]
///                      [--prompts TSV] [--models DIR] [--exact] [--dump DIR]
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
/// `ranked_scan_p50_ms`: the scan alone under the daemon's ranking
/// (`Ranking.prompts`, which also measures the query's spread over the
/// known prompts), beside `weighted_scan_p50_ms` (the same without that
/// lift) and `scan_p50_ms` (each image its best row).
/// `--dump DIR` also writes the rows and queries as raw little-endian files
/// for bench/search_candidates.py (pred.f32/ids, known.f32/ids, tq.f32 = text
/// queries, pq.f32 = prompt-like queries; (count, 384) float32, int64 ids).
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
    let dump = argument("--dump", args).map(RawDump.init)
    dump?.append("tq.f32", Array(textQueries.joined())); dump?.append("pq.f32", Array(promptQueries.joined()))
    let index = args.contains("--exact") ? SearchIndex(dimension: d, approximateAbove: .max) : SearchIndex(dimension: d)
    let rssBefore = residentMiB()
    var loadSeconds = 0.0, rows = 0, truthSeconds = 0.0
    var next = 0, firstImage: Int64 = 0
    while next < promptCount {
        let chunk = next..<min(promptCount, next + 8192)
        let part = library.rows(prompts: chunk, firstImage: firstImage)
        dump?.append("pred.f32", part.predicted); dump?.append("pred.ids", part.ids)
        dump?.append("known.f32", part.known); dump?.append("known.ids", part.knownIDs)
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
    // Filters (a folder, a date range…): every 10th image (the first pass
    // filtered) and every 100th (scored directly); search alone, per query.
    var filtered: [[Double]] = [[], []]
    for (j, step) in [10, 100].enumerated() {
        let allowed = Set(stride(from: 0, to: images, by: step).map(Int64.init))
        for q in textQueries.prefix(50) {
            let start = clock.now
            _ = index.search(q, k: k, allowed: allowed)
            filtered[j].append(elapsedSeconds(since: start) * 1000)
        }
    }
    // The daemon's ranking (known prompts decide, predictions lifted by the
    // query's spread over the known prompts, `Ranking.prompts`): search alone.
    // Beside it, the same without the lift (predictions weighted only), alternated.
    var ranked: [Double] = [], weighted: [Double] = []
    let daemonRanking = Ranking.prompts(predictionConfidence: 0.45)
    let weightOnly = Ranking(predictedWeight: 0.45, knownPromptDecides: true)
    for q in textQueries.prefix(100) {
        var start = clock.now
        _ = index.search(q, k: k, allowed: nil, ranking: daemonRanking)
        ranked.append(elapsedSeconds(since: start) * 1000)
        start = clock.now
        _ = index.search(q, k: k, allowed: nil, ranking: weightOnly)
        weighted.append(elapsedSeconds(since: start) * 1000)
    }
    func pct(_ a: [Double], _ p: Double) -> Double { let s = a.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }
    func f(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
    print("{\"n\":\(images),\"rows\":\(rows),\"queries\":\(queries),\"p50_ms\":\(f(pct(total, 0.5))),\"p99_ms\":\(f(pct(total, 0.99))),"
        + "\"scan_p50_ms\":\(f(pct(scan, 0.5))),\"scan_p99_ms\":\(f(pct(scan, 0.99))),"
        + "\"filtered_10pc_p50_ms\":\(f(pct(filtered[0], 0.5))),\"filtered_1pc_p50_ms\":\(f(pct(filtered[1], 0.5))),\"ranked_scan_p50_ms\":\(f(pct(ranked, 0.5))),\"weighted_scan_p50_ms\":\(f(pct(weighted, 0.5))),"
        + "\"recall_at_10\":\(f(recall / Double(queries), 4)),\"recall_at_10_prompts\":\(f(promptRecall / Double(queries), 4)),"
        + "\"rss_mib\":\(f(rssAfter, 0)),\"rss_trimmed_mib\":\(f(rssTrimmed, 0)),\"rss_before_mib\":\(f(rssBefore, 0)),\"load_s\":\(f(loadSeconds)),"
        + "\"truth_s\":\(f(truthSeconds)),\"setup_s\":\(f(setupSeconds, 1))}")
}

/// Arrays appended to raw files in a folder (created empty).
struct RawDump {
    let folder: URL
    init(_ path: String) {
        folder = URL(fileURLWithPath: path)
        try? FileManager.default.removeItem(at: folder)
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch { die("\(error)") }
    }
    func append<T>(_ name: String, _ values: [T]) {
        let url = folder.appendingPathComponent(name)
        if !FileManager.default.fileExists(atPath: url.path), !FileManager.default.createFile(atPath: url.path, contents: nil) {
            die("\(url.path): cannot create")
        }
        do {
            let h = try FileHandle(forWritingTo: url)
            defer { try? h.close() }
            try h.seekToEnd()
            try values.withUnsafeBytes { try h.write(contentsOf: Data($0)) }
        } catch { die("\(url.path): \(error)") }
    }
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

/// The search index's part of the daemon's start at about N images: a store
/// holding the library's vectors (SyntheticEmbeddings around random
/// centres; written once to --db and reused), opened afresh, every vector
/// read and loaded as IndexingService.start does, both ways:
/// `rows_s` = store.vectors(kind:) (a Row and an array per vector) into
/// load(_:kind:), `bulk_s` = store.vectorMatrix(kind:) into
/// load(ids:vectors:kind:). Run each way in its own process (--way rows|bulk)
/// so that neither inherits the other's heap.
///   revsd-bench searchstart --n N --db PATH [--way rows|bulk]
func benchSearchStart() {
    let n = Int(argument("--n", args) ?? "100000") ?? 100_000
    guard let dbPath = argument("--db", args) else { die("--db PATH is required (built once, then reused)") }
    let way = argument("--way", args) ?? "bulk"
    let d = 384
    if !FileManager.default.fileExists(atPath: dbPath) {
        let library = SyntheticEmbeddings(centres: SyntheticEmbeddings.randomCentres(count: 3000, dimension: d, seed: 3),
                                          dimension: d, seed: 1)
        let store: IndexStore
        do { store = try IndexStore(path: dbPath) } catch { die("\(error)") }
        let start = clock.now
        var prompt = 0, images = 0
        while images < n {
            let part = library.rows(prompts: prompt..<(prompt + 1024), firstImage: Int64(images))
            var known: [Int64: Int] = [:]
            for (i, id) in part.knownIDs.enumerated() { known[id] = i }
            // As the workers do: queue the files, claim them, store the batch.
            do {
                try store.enqueue(part.ids.map { "/library/\($0).png" }, reason: "bench")
                let jobs = try store.claimJobs(limit: part.ids.count)
                let batch = zip(part.ids.indices, jobs).map { i, job in
                    let id = part.ids[i]
                    var e: [EmbeddingKind: [Float]] = [.predicted: Array(part.predicted[(i * d)..<(i * d + d)])]
                    if let k = known[id] { e[.knownPrompt] = Array(part.known[(k * d)..<(k * d + d)]) }
                    return (file: IndexedFile(path: job.path, contentHash: "\(id)", size: 1, mtimeNs: 1, embeddings: e), job: job)
                }
                try store.store(batch: batch)
            } catch { die("\(error)") }
            prompt += 1024; images += part.ids.count
        }
        FileHandle.standardError.write(Data("wrote \(images) images to \(dbPath) in \(String(format: "%.0f", elapsedSeconds(since: start))) s\n".utf8))
    }
    let start = clock.now
    let store: IndexStore
    do { store = try IndexStore(path: dbPath) } catch { die("\(error)") }
    let index = SearchIndex(dimension: d)
    var readSeconds = 0.0
    do {
        for (embedding, kind) in [(EmbeddingKind.predicted, SearchIndex.RowKind.predicted), (.knownPrompt, .knownPrompt)] {
            let t = clock.now
            if way == "rows" {
                let rows = try store.vectors(kind: embedding)
                readSeconds += elapsedSeconds(since: t)
                index.load(rows, kind: kind)
            } else {
                let (ids, vectors) = try store.vectorMatrix(kind: embedding, dimension: d)
                readSeconds += elapsedSeconds(since: t)
                index.load(ids: ids, vectors: vectors, kind: kind)
            }
        }
    } catch { die("\(error)") }
    let total = elapsedSeconds(since: start)
    print("{\"way\":\"\(way)\",\"images\":\(index.count),\"seconds\":\(String(format: "%.2f", total)),\"read_s\":\(String(format: "%.2f", readSeconds)),\"load_s\":\(String(format: "%.2f", total - readSeconds)),\"rss_mib\":\(String(format: "%.0f", residentMiB()))}")
}
