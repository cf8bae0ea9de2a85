import Inference
import Metadata

extension ImageAnalyzer {
    /// The embeddings of known prompts (`known` when given: already
    /// embedded) and of their search rows, in one call of `embed` (packed
    /// sequences). A search row is the mean of the embeddings of the
    /// prompt's search text (`PromptText.searchText`, its syntax stripped)
    /// and of that text without its boilerplate tags
    /// (`PromptText.withoutBoilerplate`), normalised: "masterpiece, best
    /// quality" weighs half. A text equal to the one before it is not
    /// embedded again (a plain prompt's search row is its embedding).
    ///
    /// Measured on bench/relevance.sh (mean nDCG@10 before / after
    /// training, P@5): the raw prompt 0.510 / 0.503, 0.322; the search text
    /// 0.507 / 0.500, 0.322; without boilerplate alone 0.507 / 0.500, 0.327;
    /// this mean 0.510 / 0.503, 0.332 (bench/RESULTS.md).
    public static func searchEmbeddings(_ prompts: [String], known: [[Float]]? = nil,
                                        _ embed: ([String]) -> [[Float]]) -> [(prompt: [Float], search: [Float])] {
        let cleaned = prompts.map(PromptText.searchText), content = prompts.map(PromptText.withoutBoilerplate)
        let newCleaned = prompts.indices.filter { cleaned[$0] != prompts[$0] }
        let newContent = prompts.indices.filter { content[$0] != cleaned[$0] }
        let texts = (known == nil ? prompts : []) + newCleaned.map { cleaned[$0] } + newContent.map { content[$0] }
        let fresh = texts.isEmpty ? [] : embed(texts)
        let raw = known ?? Array(fresh.prefix(prompts.count))
        var cleanedVectors = raw
        var next = known == nil ? prompts.count : 0
        for i in newCleaned { cleanedVectors[i] = fresh[next]; next += 1 }
        var out = prompts.indices.map { (prompt: raw[$0], search: cleanedVectors[$0]) }
        for i in newContent {
            out[i].search = VectorMath.l2Normalized(zip(cleanedVectors[i], fresh[next]).map { $0 + $1 })
            next += 1
        }
        return out
    }
}
