import Foundation
import Inference
import SyntheticImages
import XCTest
@testable import Search
@testable import Store

/// The in-memory search matrix against a brute-force model, through random
/// inserts, replacements and removals.
final class SearchIndexTests: XCTestCase {
    func unit(_ rng: inout SystemRandomNumberGenerator, _ d: Int) -> [Float] {
        let v = (0..<d).map { _ in Float.random(in: -1...1, using: &rng) }
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    func testMatchesBruteForceThroughRandomChanges() {
        var rng = SystemRandomNumberGenerator()
        let d = 16
        let index = SearchIndex(dimension: d)
        var model: [Int64: [SearchIndex.RowKind: [Float]]] = [:]
        let kinds = SearchIndex.RowKind.allCases
        for step in 0..<3000 {
            let id = Int64.random(in: 0..<400, using: &rng)
            if Int.random(in: 0..<4, using: &rng) == 0 {
                index.remove(id); model[id] = nil
            } else {
                let kind = kinds[Int.random(in: 0..<2, using: &rng)]
                let v = unit(&rng, d)
                index.set(id, kind: kind, vector: v); model[id, default: [:]][kind] = v
            }
            if step % 100 == 0 || step == 2999 {
                let q = unit(&rng, d)
                let allowed: Set<Int64>? = step % 200 == 0 ? Set((0..<400).filter { $0 % 3 == 0 }.map(Int64.init)) : nil
                var expected: [(Int64, Float)] = model.compactMap { id, vs in
                    if let allowed, !allowed.contains(id) { return nil }
                    return (id, vs.values.map { zip($0, q).reduce(0) { $0 + $1.0 * $1.1 } }.max()!)
                }
                expected.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                let got = index.search(q, k: 7, allowed: allowed)
                XCTAssertEqual(got.map(\.id), expected.prefix(7).map(\.0), "step \(step)")
                for (g, e) in zip(got, expected) { XCTAssertEqual(g.score, e.1, accuracy: 1e-5) }
                XCTAssertEqual(index.count, model.count)
            }
        }
        XCTAssertTrue(index.search(unit(&rng, d), k: 0).isEmpty)
    }

    func testAnImageScoresItsBestVector() {
        let index = SearchIndex(dimension: 2)
        index.set(1, kind: .predicted, vector: [1, 0])
        index.set(2, kind: .predicted, vector: [0.6, 0.8])
        index.set(2, kind: .knownPrompt, vector: [0, 1])
        let r = index.search([0, 1], k: 5)
        XCTAssertEqual(r.map(\.id), [2, 1])
        XCTAssertEqual(r[0].score, 1, accuracy: 1e-6, "the known prompt's vector counts")
        index.remove(2)
        XCTAssertEqual(index.search([0, 1], k: 5).map(\.id), [1])
        XCTAssertEqual(SearchIndex(dimension: 2).search([1, 0], k: 3).count, 0)
    }
}

/// The large index's two-pass search (RowVectors, ApproximateScan) against
/// exact scans on fixed, seeded data: SyntheticEmbeddings around random
/// anisotropic centres (near-duplicate images, known-prompt rows).
extension SearchIndexTests {
    /// About 56,000 images (≈ 75,000 rows, above the 50,000 of the default
    /// index), built once for the tests that read it.
    struct Library {
        let d = 384
        let rows: SyntheticEmbeddings.Rows
        let index: SearchIndex
        /// 100 prompt-like queries and 100 far ones (three themes and noise,
        /// like a short text: its best images sit in many clusters).
        let queries: [[Float]]
        var imageCount: Int { rows.ids.count }
    }


    static func library() -> Library {
        if let cached = largeLibrary { return cached }
        let d = 384
        let gen = SyntheticEmbeddings(centres: SyntheticEmbeddings.randomCentres(count: 400, dimension: d, seed: 7),
                                      dimension: d, seed: 11)
        let rows = gen.rows(prompts: 0..<9300, firstImage: 0)
        let index = SearchIndex(dimension: d)
        index.load(ids: rows.ids, vectors: rows.predicted, kind: .predicted)
        index.load(ids: rows.knownIDs, vectors: rows.known, kind: .knownPrompt)
        var rng = SyntheticImages.SplitMix64(seed: 5)
        var far: [[Float]] = []
        for _ in 0..<100 {
            var q = [Float](repeating: 0, count: d)
            for _ in 0..<3 {
                let c = rng.below(gen.centreCount)
                for t in 0..<d { q[t] += gen.centres[c * d + t] }
            }
            for t in 0..<d { q[t] += Float(rng.uniform(-1...1)) * 0.15 }
            let n = q.reduce(0) { $0 + $1 * $1 }.squareRoot()
            far.append(q.map { $0 / n })
        }
        let library = Library(rows: rows, index: index, queries: gen.promptQueries(count: 100) + far)
        largeLibrary = library
        return library
    }

    /// The exact answer over `rows` (rows, d) owned by images `ids` (small
    /// non-negative integers): each image's best row, the best `k` images
    /// by score descending then id ascending, scores through BLAS.
    static func bruteForce(_ queries: [[Float]], rows: [Float], ids: [Int64], d: Int, k: Int,
                           allowed: Set<Int64>? = nil) -> [[(id: Int64, score: Float)]] {
        let q = queries.count, n = ids.count, images = Int(ids.max() ?? 0) + 1
        var s = [Float](repeating: 0, count: q * n)   // (queries, rows)
        let flat = Array(queries.joined())
        flat.withUnsafeBufferPointer { a in rows.withUnsafeBufferPointer { b in s.withUnsafeMutableBufferPointer { c in
            BLAS.gemm(MatrixRef(a.baseAddress!, rows: q, cols: d), MatrixRef(b.baseAddress!, rows: n, cols: d),
                      transposeB: true, MutableMatrixRef(c.baseAddress!, rows: q, cols: n))
        } } }
        let ok = (0..<images).map { allowed?.contains(Int64($0)) ?? true }
        return (0..<q).map { j in
            var best = [Float](repeating: -.infinity, count: images)
            for r in 0..<n { best[Int(ids[r])] = max(best[Int(ids[r])], s[j * n + r]) }
            var top = TopImages(k: k)
            for i in 0..<images where ok[i] && best[i] > -.infinity { top.insert(Int64(i), best[i], .predicted) }
            return top.items.map { ($0.id, $0.score) }
        }
    }

    /// The float32 truth of the library.
    static func exactTop(_ lib: Library, _ queries: [[Float]], k: Int, allowed: Set<Int64>? = nil) -> [[(id: Int64, score: Float)]] {
        bruteForce(queries, rows: lib.rows.predicted + lib.rows.known, ids: lib.rows.ids + lib.rows.knownIDs, d: lib.d, k: k, allowed: allowed)
    }

    /// The exact answer over the index's own (decoded) rows.
    static func decodedTop(_ index: SearchIndex, _ queries: [[Float]], k: Int, allowed: Set<Int64>?) -> [[(id: Int64, score: Float)]] {
        let held = index.heldRows()
        return bruteForce(queries, rows: held.vectors, ids: held.ids, d: index.dimension, k: k, allowed: allowed)
    }

    static func recall(_ got: [(id: Int64, score: Float)], _ truth: [(id: Int64, score: Float)]) -> Double {
        let t = Set(truth.map(\.id))
        return Double(got.filter { t.contains($0.id) }.count) / Double(max(1, truth.count))
    }

    func testTwoPassSearchFindsTheExactTopTen() {
        let lib = Self.library()
        XCTAssertTrue(lib.index.isApproximate)
        XCTAssertEqual(lib.index.count, lib.imageCount)
        let truth = Self.exactTop(lib, lib.queries, k: 10)
        var prompts = 0.0, far = 0.0
        for (j, q) in lib.queries.enumerated() {
            let got = lib.index.search(q, k: 10)
            XCTAssertEqual(got.count, 10)
            let r = Self.recall(got, truth[j])
            if j < 100 { prompts += r } else { far += r }
            // The scores are the 12-bit codes' (PreciseCodes: |error| ≤ (scale/2)·√d).
            let exact = Dictionary(uniqueKeysWithValues: truth[j].map { ($0.id, $0.score) })
            for g in got { if let e = exact[g.id] { XCTAssertEqual(g.score, e, accuracy: 1e-3) } }
            XCTAssertEqual(got.map(\.score), got.map(\.score).sorted(by: >))
        }
        XCTAssertGreaterThanOrEqual(prompts / 100, 0.99, "prompt-like queries")
        XCTAssertGreaterThanOrEqual(far / 100, 0.99, "far queries")
    }

    func testFilteredSearchIsTheTopAmongTheAllowed() {
        let lib = Self.library()
        var rng = SyntheticImages.SplitMix64(seed: 9)
        let n = lib.imageCount
        let small = Set((0..<600).map { _ in Int64(rng.below(n)) })              // scored directly
        let half = Set((0..<n).filter { _ in rng.below(2) == 0 }.map(Int64.init))   // first pass, asking the set
        let folder = Set((0..<(n / 8)).map(Int64.init))                            // a folder (some themes): first pass, bitmap
        for (name, allowed) in [("small", small), ("half", half), ("folder", folder)] {
            let queries = Array(lib.queries.prefix(20)) + Array(lib.queries.suffix(20))
            let truth = Self.exactTop(lib, queries, k: 10, allowed: allowed)
            let decoded = name == "small" ? Self.decodedTop(lib.index, queries, k: 10, allowed: allowed) : []
            var total = 0.0
            for (j, q) in queries.enumerated() {
                let got = lib.index.search(q, k: 10, allowed: allowed)
                XCTAssertTrue(got.allSatisfy { allowed.contains($0.id) }, name)
                total += Self.recall(got, truth[j])
                if name == "small" {
                    // Scored directly: exactly the top among the allowed, over the index's rows.
                    let exact = decoded[j]
                    XCTAssertEqual(got.map(\.id), exact.map(\.id), "\(name) query \(j)")
                    for (g, e) in zip(got, exact) { XCTAssertEqual(g.score, e.score, accuracy: 1e-5) }
                }
            }
            XCTAssertGreaterThanOrEqual(total / Double(queries.count), 0.99, name)
        }
    }

    /// The brute-force test of SearchIndexTests, on an index that turns
    /// approximate at 300 rows and grows past a retraining of its axes (1,200):
    /// results are those of an exact scan over the index's own rows, each
    /// row decodes to the vector last set for it, and the scores stay within
    /// the codes' error of the float32 ones.
    func testSetAndRemoveKeepTheLargeIndexConsistent() {
        var rng = SyntheticImages.SplitMix64(seed: 21)
        func unit(_ d: Int) -> [Float] {
            let v = (0..<d).map { _ in Float(rng.uniform(-1...1)) }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / n }
        }
        let d = 16
        let index = SearchIndex(dimension: d, approximateAbove: 300)
        var model: [Int64: [SearchIndex.RowKind: [Float]]] = [:]
        let kinds = SearchIndex.RowKind.allCases
        for step in 0..<4000 {
            let id = Int64(rng.below(step < 2500 ? 1500 : 600))
            if step >= 1000, rng.below(3) == 0 {
                index.remove(id); model[id] = nil
            } else {
                let kind = kinds[rng.below(2)], v = unit(d)
                index.set(id, kind: kind, vector: v); model[id, default: [:]][kind] = v
            }
            guard step % 200 == 199 else { continue }
            XCTAssertEqual(index.count, model.count)
            if index.rowCount >= 300 { XCTAssertTrue(index.isApproximate) }
            let held = index.heldRows()
            for r in held.ids.indices {
                let id = held.ids[r], decoded = held.vectors[(r * d)..<(r * d + d)]
                let want = model[id]![held.kinds[r]]!
                XCTAssertTrue(zip(decoded, want).allSatisfy { abs($0 - $1) < 1e-3 }, "step \(step) row \(r)")
            }
            let q = unit(d)
            let allowed: Set<Int64>? = step % 400 == 199 ? Set((0..<1500).filter { $0 % 3 == 0 }.map(Int64.init)) : nil
            let got = index.search(q, k: 7, allowed: allowed)
            let exact = Self.decodedTop(index, [q], k: 7, allowed: allowed)[0]
            XCTAssertEqual(got.map(\.id), exact.map(\.id), "step \(step)")
            for g in got {
                let f = model[g.id]!.values.map { zip($0, q).reduce(0) { $0 + $1.0 * $1.1 } }.max()!
                XCTAssertEqual(g.score, f, accuracy: 1e-3)
            }
        }
        index.removeAll()
        XCTAssertFalse(index.isApproximate)
        XCTAssertEqual(index.count, 0)
        XCTAssertTrue(index.search(unit(d), k: 3).isEmpty)
    }

    /// A bulk load is the same index as row-by-row sets (small: exact, equal scores).
    func testBulkLoadMatchesRowByRowSets() {
        var rng = SyntheticImages.SplitMix64(seed: 4)
        let d = 8, n = 500
        let vectors = (0..<(n * d)).map { _ in Float(rng.uniform(-1...1)) }
        let ids = (0..<n).map { Int64(($0 * 7) % 450) }   // repeats: the later vector wins
        let bulk = SearchIndex(dimension: d), single = SearchIndex(dimension: d)
        bulk.load(ids: ids, vectors: vectors, kind: .predicted)
        for (i, id) in ids.enumerated() { single.set(id, kind: .predicted, vector: Array(vectors[(i * d)..<(i * d + d)])) }
        XCTAssertEqual(bulk.count, single.count)
        for _ in 0..<20 {
            let q = (0..<d).map { _ in Float(rng.uniform(-1...1)) }
            let a = bulk.search(q, k: 9), b = single.search(q, k: 9)
            XCTAssertEqual(a.map(\.id), b.map(\.id))
            XCTAssertEqual(a.map(\.score), b.map(\.score))
        }
    }
}

/// The large library, built once for the tests that read it.
nonisolated(unsafe) private var largeLibrary: SearchIndexTests.Library?
