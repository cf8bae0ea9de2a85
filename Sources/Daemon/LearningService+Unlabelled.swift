import Foundation
import Learning
import Store

extension LearningService {
    /// DAKL's target domain: the library's unlabelled images with features
    /// for every encoder in `encoders` (`IndexStore.unlabelledIDs`), at most
    /// `UnlabelledImages.maximum` of them evenly spaced by id, read from the
    /// store a chunk at a time with their zero-shot predictions (as
    /// `withZeroShot` gives the labelled rows theirs).
    func unlabelledImages(encoders: [String], excluding: Set<String> = []) throws -> UnlabelledImages {
        let all = try store.unlabelledIDs(encoders: encoders, excluding: excluding)
        let ids = UnlabelledImages.sample(all.count).map { all[$0] }
        let store = store, analyzer = analyzer
        return UnlabelledImages(count: ids.count) { range in
            let rows = try store.featureRows(encoders: encoders, ids: Array(ids[range]))
            let zeroShot = rows.count > 0 ? analyzer?.zeroShotPredictions(features: rows.features, rows: rows.count)?.flatMap(\.embedding) : nil
            return UnlabelledImages.Chunk(rows: rows.count, features: rows.features, zeroShot: zeroShot ?? [])
        }
    }
}
