import Foundation
import Metadata
import RevsdSystem
import Store
import SyntheticImages

// revsd-bench galleryindex --n N --state DIR --root FOLDER --prompts TSV
//
// A daemon's state folder for bench/web.sh: DIR/index.sqlite with N indexed
// images under FOLDER (a folder that does not exist: revsdd keeps the
// records of a watched folder that is missing and warns), written as the
// workers write them (enqueue, claim, store(batch:)), so the counts, the
// full-text index and search_dirty are what the daemon's own writes make.
// Image i: content hash sha-like from i, mtime increasing with i, a
// predicted vector and a caption; the images of a third of the prompts
// (SyntheticEmbeddings' `carried`) carry a real prompt of TSV (first column,
// a header line skipped) as A1111 metadata with sampler, model and steps,
// and its known-prompt and search rows.
func benchGalleryIndex() {
    let n = Int(argument("--n", args) ?? "10000") ?? 10_000
    guard let state = argument("--state", args) else { die("--state DIR is required (DIR/index.sqlite is written)") }
    guard let root = argument("--root", args) else { die("--root FOLDER (a folder that does not exist) is required") }
    guard let promptsPath = argument("--prompts", args) else { die("--prompts TSV (real prompts, first column) is required") }
    guard !FileManager.default.fileExists(atPath: root) else { die("\(root) exists: the rows must lie under a missing folder") }
    let prompts: [String]
    do {
        prompts = try TextInput.lines(of: promptsPath).dropFirst().compactMap { line in
            let p = line.split(separator: "\t", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return p.isEmpty ? nil : p.replacingOccurrences(of: "\\n", with: " ")
        }
    } catch { die("\(error)") }
    guard !prompts.isEmpty else { die("\(promptsPath) holds no prompts") }
    let dbPath = state + "/index.sqlite"
    guard !FileManager.default.fileExists(atPath: dbPath) else { die("\(dbPath) exists") }
    do { try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true) } catch { die("\(error)") }
    let d = 384
    let library = SyntheticEmbeddings(centres: SyntheticEmbeddings.randomCentres(count: 3000, dimension: d, seed: 3),
                                      dimension: d, seed: 1)
    let samplers = ["Euler a", "DPM++ 2M Karras", "DDIM", "UniPC"], models = ["sd_xl_base_1.0", "v1-5-pruned-emaonly", "dreamshaper_8"]
    let store: IndexStore
    do { store = try IndexStore(path: dbPath) } catch { die("\(error)") }
    let start = clock.now
    let firstMtime: Int64 = 1_700_000_000 * 1_000_000_000
    var prompt = 0, images = 0, carried = 0
    while images < n {
        let range = prompt..<(prompt + 1024)
        let part = library.rows(prompts: range, firstImage: Int64(images))
        // Which prompt each image of the part is of (rows are in prompt order).
        var promptOf: [Int] = []
        for j in range { promptOf += Array(repeating: j, count: library.prompt(j).images) }
        var known: [Int64: Int] = [:]
        for (i, id) in part.knownIDs.enumerated() { known[id] = i }
        let count = min(part.ids.count, n - images)
        do {
            let paths = part.ids.prefix(count).map { "\(root)/f\($0 % 50)/\($0).png" }
            try store.enqueue(paths, reason: "bench")
            let jobs = try store.claimJobs(limit: count)
            let batch = zip(part.ids.prefix(count).indices, jobs).map { i, job in
                let id = part.ids[i], j = promptOf[i]
                var e: [EmbeddingKind: [Float]] = [.predicted: Array(part.predicted[(i * d)..<(i * d + d)])]
                var metadata: GenerationMetadata?
                if let k = known[id] {
                    let v = Array(part.known[(k * d)..<(k * d + d)])
                    e[.knownPrompt] = v; e[.searchPrompt] = v
                    let text = prompts[j % prompts.count]
                    let (sampler, model, steps) = (samplers[j % samplers.count], models[j % models.count], 20 + j % 15)
                    metadata = GenerationMetadata(prompt: text, steps: steps, sampler: sampler, cfgScale: 7, seed: UInt64(id),
                                                  width: 512, height: 512, model: model, source: "automatic1111",
                                                  raw: "\(text)\nSteps: \(steps), Sampler: \(sampler), CFG scale: 7, Seed: \(id), Size: 512x512, Model: \(model)")
                }
                // The predicted caption: another real prompt's first words.
                let caption = prompts[(j * 7 + 5000) % prompts.count].split(separator: " ").prefix(12).joined(separator: " ")
                let file = IndexedFile(path: job.path, contentHash: String(format: "%016llx%048llx", UInt64(id), UInt64(id) &* 0x9E37_79B9_7F4A_7C15),
                                       size: 400_000 + id % 1000, mtimeNs: firstMtime + id * 1_000_000_000, width: 512, height: 512,
                                       format: "png", metadata: metadata, caption: caption, embeddings: e)
                return (file: file, job: job)
            }
            carried += batch.filter { $0.file.metadata != nil }.count
            _ = try store.store(batch: batch)
        } catch { die("\(error)") }
        prompt += 1024; images += count
    }
    // As if the library had been trained on: revsdd does not start a training run of its own.
    do { try store.setTrainingState(.labelledAtLastTraining, "\(store.labelledContents())") } catch { die("\(error)") }
    let secs = elapsedSeconds(since: start)
    print("{\"images\":\(images),\"with_prompt\":\(carried),\"db\":\"\(dbPath)\",\"seconds\":\(String(format: "%.1f", secs))}")
}
