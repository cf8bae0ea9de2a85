import Foundation
import SyntheticImages
import XCTest
@testable import Search

/// A large (approximate) index follows the change feed as the exact one
/// does: after bulk loads, `replace` (adds, changed vectors, removals) and a
/// retraining of the axes, its two-pass search returns the ids of an exact
/// scan, with no phantom and no missing image. The first pass keeps 3,000
/// of about 14,000 rows here, so a row whose projected code were stale
/// (not re-coded on replace, not moved with its row on remove) would be
/// lost or found wrongly.
final class ApproximateIndexConsistencyTests: XCTestCase {
    let d = 32

    func unit(_ rng: inout SyntheticImages.SplitMix64) -> [Float] {
        let v = (0..<d).map { _ in Float(rng.uniform(-1...1)) }
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    /// Rows of images `ids`: a predicted row each, a known-prompt row for a third.
    func rows(_ ids: Range<Int64>, _ rng: inout SyntheticImages.SplitMix64) -> [SearchIndex.Row] {
        ids.flatMap { id -> [SearchIndex.Row] in
            var r: [SearchIndex.Row] = [(id, .predicted, unit(&rng))]
            if id % 3 == 0 { r.append((id, .knownPrompt, unit(&rng))) }
            return r
        }
    }

    func testReplaceAndRemoveAboveTheThresholdGiveTheExactIDs() {
        var rng = SyntheticImages.SplitMix64(seed: 17)
        let approximate = SearchIndex(dimension: d, approximateAbove: 1000)
        let exact = SearchIndex(dimension: d, approximateAbove: .max)
        var model: [Int64: [SearchIndex.RowKind: [Float]]] = [:]
        func apply(ids: [Int64], rows: [SearchIndex.Row]) {
            approximate.replace(ids: ids, with: rows)
            exact.replace(ids: ids, with: rows)
            for id in ids { model[id] = nil }
            for r in rows { model[r.id, default: [:]][r.kind] = r.vector }
        }
        let queries = (0..<30).map { _ in unit(&rng) }
        // The images that will be moved onto the queries start opposite them.
        let movers = (0..<Int64(queries.count)).map { 100 + $0 * 37 }
        var first = rows(0..<2500, &rng)
        for (j, id) in movers.enumerated() {
            first.removeAll { $0.id == id }
            first.append((id, .predicted, queries[j].map { -$0 }))
        }
        approximate.replaceAll(with: first)
        exact.replaceAll(with: first)
        for r in first { model[r.id, default: [:]][r.kind] = r.vector }
        XCTAssertTrue(approximate.isApproximate)
        XCTAssertFalse(exact.isApproximate)

        // Growth through the feed, in transactions of 500 images: past four
        // times the rows at the switch, so the axes are trained again.
        for start in stride(from: Int64(2500), to: 10_500, by: 500) {
            let ids = Array(start..<(start + 500))
            apply(ids: ids, rows: rows(start..<(start + 500), &rng))
        }
        XCTAssertGreaterThan(approximate.rowCount, 4 * 2500, "past a retraining (four times the 2,500 rows at the switch)")
        check(approximate, exact, model, queries, "after growth")

        // Changed vectors: each mover onto its query (and gaining a second row).
        for (j, id) in movers.enumerated() {
            apply(ids: [id], rows: [(id, .predicted, queries[j]), (id, .knownPrompt, unit(&rng))])
        }
        // Removals: the exact top 10 of every query as it stands (so a phantom
        // would show), and a thousand more, some with new rows in the same change.
        var removed = Set<Int64>()
        for q in queries { for r in exact.search(q, k: 10) where !movers.contains(r.id) { removed.insert(r.id) } }
        for _ in 0..<1000 { removed.insert(Int64(rng.below(10_500))) }
        removed.subtract(movers)
        let gone = Array(removed).sorted()
        for part in stride(from: 0, to: gone.count, by: 250) {
            let ids = Array(gone[part..<min(gone.count, part + 250)])
            let back = ids.filter { $0 % 5 == 0 }.flatMap { id -> [SearchIndex.Row] in [(id, .predicted, unit(&rng))] }
            apply(ids: ids, rows: back)
        }
        check(approximate, exact, model, queries, "after replace and remove")
        for (j, q) in queries.enumerated() {
            XCTAssertEqual(approximate.search(q, k: 1).first?.id, movers[j], "query \(j): the image moved onto it")
        }
    }

    func check(_ approximate: SearchIndex, _ exact: SearchIndex, _ model: [Int64: [SearchIndex.RowKind: [Float]]],
               _ queries: [[Float]], _ when: String) {
        XCTAssertEqual(approximate.count, model.count, when)
        XCTAssertEqual(exact.count, model.count, when)
        // Every row held is the model's (as codes), and nothing else.
        let held = approximate.snapshot()
        XCTAssertEqual(Set(held.keys), Set(model.keys), when)
        for (id, kinds) in model {
            XCTAssertEqual(held[id], kinds.mapValues { approximate.held($0) }, "\(when): image \(id)")
        }
        // An exact scan over the rows as held (the codes decoded), and the float32 one.
        let rows = approximate.heldRows(), decoded = SearchIndex(dimension: d, approximateAbove: .max)
        decoded.replaceAll(with: rows.ids.indices.map { i in (rows.ids[i], rows.kinds[i], Array(rows.vectors[(i * d)..<(i * d + d)])) })
        for (j, q) in queries.enumerated() {
            let got = approximate.search(q, k: 10), want = exact.search(q, k: 11)
            XCTAssertEqual(got.map(\.id), decoded.search(q, k: 10).map(\.id), "\(when): query \(j): the exact order of the held rows")
            XCTAssertTrue(got.allSatisfy { model[$0.id] != nil }, "\(when): query \(j): a phantom")
            // The float32 top 10, but for a near tie at the 10th place (the
            // 12-bit codes move a score by ~1e-4): same ids, same scores.
            let tenth = want[9].score, gotIDs = Set(got.map(\.id))
            let mustHave = Set(want.prefix(10).filter { $0.score > tenth + 1e-3 }.map(\.id))
            let mayHave = Set(want.filter { $0.score >= tenth - 1e-3 }.map(\.id))
            XCTAssertTrue(mustHave.isSubset(of: gotIDs), "\(when): query \(j): missing \(mustHave.subtracting(gotIDs))")
            XCTAssertTrue(gotIDs.isSubset(of: mayHave), "\(when): query \(j): not in the exact top 10: \(gotIDs.subtracting(mayHave))")
            let exactScore = Dictionary(uniqueKeysWithValues: want.map { ($0.id, $0.score) })
            for g in got { if let e = exactScore[g.id] { XCTAssertEqual(g.score, e, accuracy: 1e-3, "\(when): query \(j)") } }
        }
    }
}
