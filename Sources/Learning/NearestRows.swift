import Inference

/// The k best rows of a matrix for each query by dot product (cosine for
/// unit rows): one sgemm per block of queries (≤ 64 MiB of scores at a time)
/// and the best kept by insertion, so memory stays bounded and nothing sorts
/// a whole row. Shared by k-NN regression and the 1-NN prompt bank.
enum NearestRows {
    /// Calls `visit(query row, best first [(row of matrix, score)])` for each query.
    static func scan(queries: [Float], matrix: [Float], count: Int, dimension d: Int, k requested: Int,
                     _ visit: (Int, [(index: Int, score: Float)]) -> Void) {
        let rows = queries.count / d
        guard count > 0, rows > 0 else { return }
        let k = max(1, min(requested, count))
        let block = max(1, min(rows, (1 << 24) / count))
        var scores = [Float](repeating: 0, count: block * count)
        var best: [(index: Int, score: Float)] = []
        best.reserveCapacity(k + 1)
        var start = 0
        while start < rows {
            let n = min(block, rows - start)
            queries.withUnsafeBufferPointer { qp in
                matrix.withUnsafeBufferPointer { mp in
                    scores.withUnsafeMutableBufferPointer { sp in
                        BLAS.gemm(MatrixRef(qp.baseAddress! + start * d, rows: n, cols: d),
                                  MatrixRef(mp.baseAddress!, rows: count, cols: d), transposeB: true,
                                  MutableMatrixRef(sp.baseAddress!, rows: n, cols: count))
                    }
                }
            }
            for local in 0..<n {
                best.removeAll(keepingCapacity: true)
                let base = local * count
                for i in 0..<count {
                    let s = scores[base + i]
                    if best.count == k, s <= best[k - 1].score { continue }
                    var pos = best.count
                    while pos > 0 && best[pos - 1].score < s { pos -= 1 }
                    best.insert((i, s), at: pos)
                    if best.count > k { best.removeLast() }
                }
                visit(start + local, best)
            }
            start += n
        }
    }
}
