/// The rows of one image, at most two (a prediction and a known prompt, `SearchIndex.RowKind`),
/// held inline: an array per image cost about 64 B of heap each (60 MB at a
/// million images, inside the index's memory goal); these are 12 B. Used as
/// the array it replaces: iterate, `first(where:)`, `append`,
/// `removeAll(where:)`, `firstIndex(of:)`, assign by index.
struct SlotRows: RandomAccessCollection, MutableCollection, ExpressibleByArrayLiteral, Sendable {
    private var first: Int32 = -1, second: Int32 = -1
    private var n: UInt8 = 0

    init() {}
    init(arrayLiteral rows: Int...) { for r in rows { append(r) } }

    var startIndex: Int { 0 }
    var endIndex: Int { Int(n) }

    subscript(i: Int) -> Int {
        get { precondition(i < Int(n)); return Int(i == 0 ? first : second) }
        set { precondition(i < Int(n)); if i == 0 { first = Int32(newValue) } else { second = Int32(newValue) } }
    }

    mutating func append(_ row: Int) {
        precondition(n < 2, "an image has at most two rows: a prediction and a known prompt")
        if n == 0 { first = Int32(row) } else { second = Int32(row) }
        n += 1
    }

    mutating func removeAll(where drop: (Int) -> Bool) {
        var kept = SlotRows()
        for r in self where !drop(r) { kept.append(r) }
        self = kept
    }
}
