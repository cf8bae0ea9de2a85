import Daemon
import Foundation
import GRDB
import Inference
import Learning
import Metadata
import Models
import RevsdSystem
import Search
import Store
import SyntheticImages

/// A synthetic library written straight into a real index file, for the
/// real revsdd to open (bench/scale.sh): the vectors of `revsd-bench search`
/// (SyntheticEmbeddings around real all-MiniLM-L6-v2 embeddings of the first
/// `--centres` real prompts, same seed: the same library), rows inserted in
/// bulk through SQLite, not through the workers' calls (3 minutes at 1M
/// that way, `searchstart`).
///
///   revsd-bench scalelib --n N --db PATH --root DIR [--files] [--centres 3000]
///                        [--seed 1] [--prompts TSV] [--models DIR]
///
/// What the daemon finds, as if it had indexed and analysed every image
/// itself: the schema migrated by `IndexStore` (so its triggers keep the
/// counts, the full-text index and the labelled contents), an `image` row per
/// image under DIR (512 × 512 PNG, `analysed = 1`, nothing queued), a
/// `prompt.predicted` row for every image, and for the images of a third of
/// the prompts a real prompt's text (the corpus's prompts in turn, a suffix
/// once they repeat, so that prompts stay distinct), its `searchText`, and
/// `prompt.known` and `prompt.search` rows (the same vector: the generator
/// has no syntax to strip; without `prompt.search` an idle worker would start
/// embedding 300k search texts). `search_dirty` is left empty (the store
/// drains it in every write) and `labelled_at_last_training` is the labelled
/// count (a library already trained: no retraining starts). No image-feature
/// rows (3 encoders' features would add about 8 KB an image). `--files`
/// also creates DIR/<id / 1000>/<id>.png, empty, and records their size and
/// mtime, so that the start's reconcile finds every file unchanged; without
/// it DIR must not exist (the daemon then keeps the records of a missing
/// folder and does not reconcile it). Prints one JSON line.
func benchScaleLibrary() {
    let n = Int(argument("--n", args) ?? "100000") ?? 100_000
    guard let dbPath = argument("--db", args), let root = argument("--root", args) else { die("--db PATH and --root DIR are required") }
    let files = args.contains("--files")
    let centreCount = Int(argument("--centres", args) ?? "3000") ?? 3000
    let seed = UInt64(argument("--seed", args) ?? "1") ?? 1
    let promptsPath = argument("--prompts", args) ?? "../shared/fixtures/prompts/real-sd-prompts.tsv"
    let d = 384
    guard !FileManager.default.fileExists(atPath: dbPath) else { die("\(dbPath) exists: scalelib writes a new index") }
    if !files, FileManager.default.fileExists(atPath: root) { die("\(root) exists: without --files the library's folder must be missing") }
    let encoder: SentenceEncoder
    do { encoder = try SentenceEncoder(folder: ModelStore.resolve(explicit: argument("--models", args)).promptEncoderFolder()) } catch { die("\(error)") }
    let prompts: [String]
    do { prompts = try TextInput.lines(of: promptsPath).dropFirst().map { String($0.split(separator: "\t").first ?? "") }.filter { !$0.isEmpty } } catch { die("\(error)") }
    guard prompts.count >= centreCount else { die("\(promptsPath): \(prompts.count) prompts, need \(centreCount)") }

    let start = clock.now
    let library = SyntheticEmbeddings(centres: Array(encoder.embed(Array(prompts[0..<centreCount]), batchSize: 32).joined()),
                                      dimension: d, seed: seed)
    // The schema as the daemon makes it; then bulk inserts on a connection of our own.
    do { _ = try IndexStore(path: dbPath) } catch { die("\(error)") }
    let queue: DatabaseQueue
    do { queue = try DatabaseQueue(path: dbPath) } catch { die("\(dbPath): \(error)") }
    // Prompts until the library has n images, as `search` counts them.
    var promptCount = 0, planned = 0
    while planned < n { planned += library.prompt(promptCount).images; promptCount += 1 }
    var images = 0, labelled = 0, prompt = 0, carriedPrompts = 0
    let indexedAt = Date().timeIntervalSince1970
    do {
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
        while prompt < promptCount {
            let chunk = prompt..<min(promptCount, prompt + 4096)
            let part = library.rows(prompts: chunk, firstImage: Int64(images))
            try queue.write { db in
                let insertImage = try db.makeStatement(sql: """
                    INSERT INTO image (id, path, contentHash, size, mtimeNs, width, height, format, status, prompt, searchText, source, indexedAt, analysed)
                    VALUES (?, ?, ?, ?, ?, 512, 512, 'png', 'indexed', ?, ?, ?, ?, 1)
                    """)
                let insertEmbedding = try db.makeStatement(sql: "INSERT INTO embedding (imageId, kind, vector) VALUES (?, ?, ?)")
                var image = 0, known = 0
                for j in chunk {
                    let shape = library.prompt(j)
                    var text: String?, search: String?
                    if shape.carried {
                        let base = prompts[carriedPrompts % prompts.count], round = carriedPrompts / prompts.count
                        text = round == 0 ? base : "\(base), take \(round)"
                        search = PromptText.searchText(text!)
                        carriedPrompts += 1
                    }
                    for _ in 0..<shape.images {
                        let id = part.ids[image]
                        let path = "\(root)/\(id / 1000)/\(id).png"
                        var stat = (size: Int64(1_200_000), mtimeNs: 1_700_000_000_000_000_000 + id)
                        if files {
                            if id % 1000 == 0 || id == part.ids[0] { try Syscalls.makeDirectories("\(root)/\(id / 1000)", mode: 0o755) }
                            guard FileManager.default.createFile(atPath: path, contents: nil), let s = FileStat.of(path) else { die("cannot create \(path)") }
                            stat = (s.size, s.mtimeNs)
                        }
                        try insertImage.execute(arguments: [id, path, String(format: "%064llx", UInt64(id) &* 0x9E37_79B9_7F4A_7C15),
                                                            stat.size, stat.mtimeNs, text, search, text == nil ? nil : "a1111", indexedAt])
                        try insertEmbedding.execute(arguments: [id, EmbeddingKind.predicted.storageKey, blob(part.predicted, row: image, d)])
                        if shape.carried {
                            precondition(part.knownIDs[known] == id)
                            let v = blob(part.known, row: known, d)
                            try insertEmbedding.execute(arguments: [id, EmbeddingKind.knownPrompt.storageKey, v])
                            try insertEmbedding.execute(arguments: [id, EmbeddingKind.searchPrompt.storageKey, v])
                            known += 1; labelled += 1
                        }
                        image += 1
                    }
                }
                images += image
            }
            prompt = chunk.upperBound
        }
        try queue.write { db in
            try db.execute(sql: "DELETE FROM search_dirty")
            try db.execute(sql: "INSERT OR REPLACE INTO training_state (key, value) VALUES (?, (SELECT labelledContents FROM index_counts))",
                           arguments: [TrainingStateKey.labelledAtLastTraining.rawValue])
        }
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    } catch { die("\(dbPath): \(error)") }
    try? queue.close()
    let bytes = (try? FileManager.default.attributesOfItem(atPath: dbPath)[.size] as? Int) ?? 0
    print("{\"images\":\(images),\"labelled\":\(labelled),\"prompts\":\(prompt),\"files\":\(files),\"seconds\":\(String(format: "%.1f", elapsedSeconds(since: start))),\"db_mib\":\(bytes >> 20)}")
}

/// Row `row` of a (rows, d) float32 matrix as an embedding blob (little-endian float32, as the store keeps them).
private func blob(_ matrix: [Float], row: Int, _ d: Int) -> Data {
    matrix.withUnsafeBytes { Data($0[(row * d * 4)..<((row + 1) * d * 4)]) }
}

/// The daemon's start on an index file, step by step, each timed as
/// revsdd does it (IndexingService.prepare, then LearningService.prepare;
/// the models aside): open and migrate (`IndexStore.init`), the crash
/// recovery of jobs and analyses, the search matrix's bulk load
/// (`IndexingService.load` itself), the drop of records outside the watched folder
/// (`removeRecords(outside:)`), the prompt bank's labelled rows
/// (`labelledRows(encoders: [], promptKeys: false)`, `LearningService.makeBank`) and the bank's
/// build. Prints one JSON line of seconds.
///   revsd-bench scalestart --db PATH --root DIR
func benchScaleStart() {
    guard let dbPath = argument("--db", args), let root = argument("--root", args) else { die("--db PATH and --root DIR are required") }
    let d = 384
    var steps: [(String, Double)] = []
    func step<T>(_ name: String, _ body: () throws -> T) -> T {
        let t = clock.now
        do { let r = try body(); steps.append((name, elapsedSeconds(since: t))); return r } catch { die("\(name): \(error)") }
    }
    let start = clock.now
    let store = step("open_s") { try IndexStore(path: dbPath) }
    _ = step("recover_s") { (try store.recoverInterruptedJobs(), try store.recoverInterruptedAnalyses()) }
    let search = SearchIndex(dimension: d)
    step("search_matrix_s") { try IndexingService.load(search, from: store) }
    let dropped = step("remove_outside_s") { try store.removeRecords(outside: [root]) }
    let labelled = step("labelled_rows_s") { try store.labelledRows(encoders: [], promptKeys: false) }
    let bank = step("bank_s") {
        var b = PromptBank(dimension: d)
        b.add(labelled.prompts, vectors: labelled.targets)
        let imported = try store.bankPrompts()
        b.add(imported.prompts, vectors: imported.vectors)
        return b
    }
    let fields = steps.map { "\"\($0.0)\":\(String(format: "%.2f", $0.1))" }.joined(separator: ",")
    print("{\"images\":\(search.count),\"dropped\":\(dropped),\"labelled\":\(labelled.ids.count),\"bank\":\(bank.prompts.count),\(fields),"
        + "\"total_s\":\(String(format: "%.2f", elapsedSeconds(since: start))),\"rss_mib\":\(String(format: "%.0f", residentMiB()))}")
}
