import Foundation

/// Element types of the safetensors format.
public enum DType: String, Sendable, CaseIterable {
    case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64

    public var byteSize: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
        case .I16, .U16, .F16, .BF16: return 2
        case .I32, .U32, .F32: return 4
        case .F64, .I64, .U64: return 8
        }
    }
}

/// One entry of a safetensors header.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range inside the data section (after the header).
    public let dataRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file, memory-mapped and validated.
///
/// Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of JSON `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}`,
/// then the data section. Validation follows the reference implementation:
/// the header is bounded, every dtype is known, shape × dtype size equals the
/// byte length, and the tensors tile the data section exactly (no overlap, no
/// hole, nothing past the end).
public final class SafeTensorsFile: Sendable {
    /// The reference implementation refuses headers above 100 MB.
    public static let maxHeaderBytes = 100_000_000

    public let path: String
    public let file: MappedFile
    public let metadata: [String: String]
    public let tensors: [String: TensorInfo]
    /// Offset of the data section in the file.
    public let dataOffset: Int

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        self.path = file.path
        let path = file.path
        func bad(_ reason: String) -> ModelError { .invalidSafeTensors(path: path, reason: reason) }

        guard file.count >= 8 else { throw bad("file is \(file.count) bytes, shorter than the 8-byte header length") }
        let n64 = file.base.loadUnaligned(as: UInt64.self).littleEndian
        guard n64 <= UInt64(Self.maxHeaderBytes) else {
            throw bad("header length \(n64) exceeds the \(Self.maxHeaderBytes)-byte limit")
        }
        let n = Int(n64)
        guard n >= 2 else { throw bad("header length \(n) is too small for a JSON object") }
        guard n <= file.count - 8 else {
            throw bad("header length \(n) runs past the end of the file (\(file.count) bytes): truncated?")
        }
        let headerData = Data(bytes: file.base + 8, count: n)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData, options: [])
        } catch {
            throw bad("header is not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw bad("header is not a JSON object") }

        let dataStart = 8 + n
        let dataSize = file.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: TensorInfo] = [:]
        for (key, value) in object {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw bad("entry '\(key)' is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw bad("tensor '\(key)' has no dtype") }
            guard let dtype = DType(rawValue: dtypeName) else { throw bad("tensor '\(key)' has unknown dtype '\(dtypeName)'") }
            guard let shapeAny = entry["shape"] as? [Any] else { throw bad("tensor '\(key)' has no shape") }
            var shape: [Int] = []
            for d in shapeAny {
                guard let dim = Self.integer(d), dim >= 0 else { throw bad("tensor '\(key)' has an invalid dimension in its shape") }
                shape.append(dim)
            }
            guard let offs = entry["data_offsets"] as? [Any], offs.count == 2,
                  let begin = Self.integer(offs[0]), let end = Self.integer(offs[1]) else {
                throw bad("tensor '\(key)' has no valid data_offsets")
            }
            guard begin >= 0, begin <= end else { throw bad("tensor '\(key)' has data_offsets [\(begin), \(end)) with begin after end") }
            guard end <= dataSize else {
                throw bad("tensor '\(key)' ends at byte \(end) of a \(dataSize)-byte data section: truncated?")
            }
            var elements = 1
            for dim in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw bad("tensor '\(key)' has a shape whose size overflows") }
                elements = p
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, bytes == end - begin else {
                throw bad("tensor '\(key)' has shape \(shape) of \(dtype) (\(overflow ? "overflowing" : String(bytes)) bytes) but data_offsets span \(end - begin) bytes")
            }
            tensors[key] = TensorInfo(name: key, dtype: dtype, shape: shape, dataRange: begin..<end)
        }

        // The tensors must tile the data section: sorted by start, each one
        // begins where the previous one ended, and the last ends at the end.
        let sorted = tensors.values.sorted { ($0.dataRange.lowerBound, $0.dataRange.upperBound, $0.name) < ($1.dataRange.lowerBound, $1.dataRange.upperBound, $1.name) }
        var cursor = 0
        var previous: String? = nil
        for t in sorted {
            if t.dataRange.lowerBound < cursor {
                throw bad("tensor '\(t.name)' overlaps tensor '\(previous ?? "")'")
            }
            if t.dataRange.lowerBound > cursor {
                throw bad("\(t.dataRange.lowerBound - cursor) unused bytes before tensor '\(t.name)'")
            }
            cursor = t.dataRange.upperBound
            previous = t.name
        }
        if cursor != dataSize {
            throw bad("data section is \(dataSize) bytes but the tensors cover \(cursor)")
        }
        self.metadata = metadata
        self.tensors = tensors
        self.dataOffset = dataStart
    }

    private static func integer(_ any: Any) -> Int? {
        guard let n = any as? NSNumber else { return nil }
        let d = n.doubleValue
        // Integral, non-negative and exactly representable.
        guard d.rounded() == d, d >= 0, d < 9.0e15 else { return nil }
        return n.intValue
    }

    /// Raw bytes of a tensor, as stored.
    public func rawBytes(_ info: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: file.base + dataOffset + info.dataRange.lowerBound, count: info.dataRange.count)
    }

    /// A tensor as float32, zero-copy when it is stored as aligned F32,
    /// converted once otherwise. `shape` is checked when given.
    public func floatTensor(_ name: String, shape expected: [Int]? = nil) throws -> FloatTensor {
        guard let info = tensors[name] else { throw ModelError.missingTensor(path: path, name: name) }
        if let expected, expected != info.shape {
            throw ModelError.shapeMismatch(path: path, name: name, expected: expected, actual: info.shape)
        }
        let raw = rawBytes(info)
        switch info.dtype {
        case .F32:
            if Int(bitPattern: raw.baseAddress) % MemoryLayout<Float>.alignment == 0 || raw.count == 0 {
                let p = raw.baseAddress.map { $0.assumingMemoryBound(to: Float.self) }
                return FloatTensor(shape: info.shape, pointer: p ?? FloatTensor.emptyPointer, owner: file)
            }
            return FloatTensor.copying(shape: info.shape) { dst in
                for i in 0..<dst.count { dst[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            }
        case .F16:
            return FloatTensor.copying(shape: info.shape) { dst in
                for i in 0..<dst.count { dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            }
        case .BF16:
            return FloatTensor.copying(shape: info.shape) { dst in
                for i in 0..<dst.count { dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            }
        default:
            throw ModelError.unsupportedDType(path: path, name: name, dtype: info.dtype.rawValue)
        }
    }
}

/// A read-only float32 tensor: a pointer, its shape, and whatever keeps the
/// memory alive (the mapped file, or an owned buffer).
public struct FloatTensor: @unchecked Sendable {
    public let shape: [Int]
    public let pointer: UnsafePointer<Float>
    let owner: AnyObject

    static let emptyStorage = FloatBuffer(count: 1)
    static var emptyPointer: UnsafePointer<Float> { UnsafePointer(emptyStorage.pointer) }

    init(shape: [Int], pointer: UnsafePointer<Float>, owner: AnyObject) {
        self.shape = shape
        self.pointer = pointer
        self.owner = owner
    }

    static func copying(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> FloatTensor {
        let n = shape.reduce(1, *)
        let storage = FloatBuffer(count: n)
        fill(UnsafeMutableBufferPointer(start: storage.pointer, count: n))
        return FloatTensor(shape: shape, pointer: UnsafePointer(storage.pointer), owner: storage)
    }

    /// A tensor owning a copy of `values`.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        let storage = FloatBuffer(count: max(values.count, 1))
        values.withUnsafeBufferPointer { src in
            if let b = src.baseAddress { storage.pointer.update(from: b, count: values.count) }
        }
        self.init(shape: shape, pointer: UnsafePointer(storage.pointer), owner: storage)
    }

    public var count: Int { shape.reduce(1, *) }
    /// The values in place. Valid only while this tensor (its owner) lives:
    /// keep the tensor in a variable, or use `toArray()`.
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

    /// A copy of the values.
    public func toArray() -> [Float] {
        withExtendedLifetime(owner) { Array(buffer) }
    }
    public subscript(i: Int) -> Float { pointer[i] }
}
