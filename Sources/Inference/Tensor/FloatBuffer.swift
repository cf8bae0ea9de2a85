/// A heap buffer of floats with a stable address, zeroed at birth and freed
/// with its owner: the storage of a tensor made in memory, the run state of a
/// training run or of one `predict` call (allocated once, reused by every
/// step, never resized). Sendable by contract: its owner decides who writes.
package final class FloatBuffer: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Float>
    package let count: Int

    package init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// A buffer holding a copy of `values`.
    package convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { pointer.update(from: b, count: values.count) } }
    }

    deinit { pointer.deallocate() }

    package var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Copies `other` (same count) into this buffer.
    package func copy(from other: FloatBuffer) {
        precondition(other.count == count, "FloatBuffer.copy: \(other.count) values into \(count)")
        pointer.update(from: other.pointer, count: count)
    }
}
