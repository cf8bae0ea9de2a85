import Foundation

/// The row bookkeeping of `SearchIndex` (lock held): every change of a row
/// goes through `RowVectors`, so that its float32 matrix or, in a large
/// index, its precise and projected codes always hold the rows listed here.
extension SearchIndex.Rows {
    /// Slot of `id`, made when it has none.
    private mutating func slot(of id: Int64) -> Int {
        if let s = slotOf[id] { return s }
        let slot = slotIDs.count
        slotIDs.append(id); slotOf[id] = slot; rowsOfSlot.append([])
        return slot
    }

    mutating func set(_ id: Int64, kind: RowKind, vector: [Float]) {
        generation &+= 1
        let slot = slot(of: id)
        vector.withUnsafeBufferPointer { v in
            // A prediction replaces the image's prediction of either origin.
            if let r = rowsOfSlot[slot].first(where: { rowKind[$0].isPrediction == kind.isPrediction }) {
                vectors.replace(r, with: v.baseAddress!)
                rowKind[r] = kind
            } else {
                rowsOfSlot[slot].append(rowCount)
                rowCount += 1
                rowOwner.append(Int32(slot)); rowKind.append(kind)
                vectors.append(v.baseAddress!, rows: 1)
            }
        }
    }

    /// Sets row `kind` of each image `ids[i]` to vector i of `matrix`
    /// (ids.count, dimension): new rows appended (and coded) in one batch.
    mutating func load(ids: [Int64], vectors matrix: [Float], kind: RowKind) {
        generation &+= 1
        var appended: [Int] = [], replaced: [(row: Int, source: Int)] = []
        for (i, id) in ids.enumerated() {
            let slot = slot(of: id)
            if let r = rowsOfSlot[slot].first(where: { rowKind[$0].isPrediction == kind.isPrediction }) {
                replaced.append((r, i)); rowKind[r] = kind
                continue
            }
            rowsOfSlot[slot].append(rowCount)
            rowCount += 1
            rowOwner.append(Int32(slot)); rowKind.append(kind)
            appended.append(i)
        }
        let vectors = self.vectors, d = dimension
        matrix.withUnsafeBufferPointer { m in
            let base = m.baseAddress!
            if appended.count == ids.count {
                vectors.append(base, rows: ids.count)
            } else {
                var rows = [Float](); rows.reserveCapacity(appended.count * d)
                for i in appended { rows += m[(i * d)..<(i * d + d)] }
                rows.withUnsafeBufferPointer { vectors.append($0.baseAddress!, rows: appended.count) }
            }
            // After the appends: a repeated id replaces the row it added.
            for (row, i) in replaced { vectors.replace(row, with: base + i * d) }
        }
    }

    mutating func remove(_ id: Int64) {
        generation &+= 1
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        // Drop its rows, highest first, each replaced by the last row.
        for row in rowsOfSlot[slot].sorted(by: >) { removeRow(row) }
        // Move the last slot into the hole.
        let last = slotIDs.count - 1
        if slot != last {
            slotIDs[slot] = slotIDs[last]
            rowsOfSlot[slot] = rowsOfSlot[last]
            slotOf[slotIDs[slot]] = slot
            for r in rowsOfSlot[slot] { rowOwner[r] = Int32(slot) }
        }
        slotIDs.removeLast(); rowsOfSlot.removeLast()
    }

    /// Removes one row: the last row (its vector or codes) moves into its place.
    private mutating func removeRow(_ row: Int) {
        let last = rowCount - 1
        let owner = Int(rowOwner[row])
        rowsOfSlot[owner].removeAll { $0 == row }
        vectors.removeByMovingLast(into: row)
        if row != last {
            let movedOwner = Int(rowOwner[last])
            rowOwner[row] = rowOwner[last]; rowKind[row] = rowKind[last]
            if let i = rowsOfSlot[movedOwner].firstIndex(of: last) { rowsOfSlot[movedOwner][i] = row }
        }
        rowOwner.removeLast(); rowKind.removeLast()
        rowCount -= 1
    }

    /// No rows, and exact again: a bulk load after it computes the codes
    /// and their axes afresh from the rows it loads.
    mutating func removeAll() {
        generation &+= 1
        rowCount = 0; rowOwner = []; rowKind = []; slotIDs = []; slotOf = [:]; rowsOfSlot = []
        vectors.removeAll()
    }

    /// Every row's vector as the index holds it (decoded from the precise
    /// codes in a large index), with its image and kind.
    func heldRows() -> (ids: [Int64], kinds: [RowKind], vectors: [Float]) {
        var out = [Float](repeating: 0, count: rowCount * dimension)
        if rowCount > 0 { out.withUnsafeMutableBufferPointer { vectors.decode(0, rowCount, into: $0.baseAddress!) } }
        return (rowOwner.map { slotIDs[Int($0)] }, rowKind, out)
    }
}
