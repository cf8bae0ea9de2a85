import Foundation
import Inference

/// Reads the legacy (pre-1.6, non-zip) PyTorch checkpoint format without
/// torch: five pickles in a row (magic number, protocol version, system info,
/// the state dict, the storage keys), then each storage as an int64 element
/// count and its raw little-endian data (see ../shared/MODELS.md).
///
/// The unpickler is restricted: it knows only the opcodes such files use and
/// only the globals `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`
/// and `torch.<Type>Storage`; anything else is refused. Tensors are gathered
/// through their strides (50 of EfficientNet-Lite's convolution weights are
/// non-contiguous views of TensorFlow-ordered storage).
public struct TorchLegacyCheckpoint {
    public struct Tensor: Sendable {
        public let name: String
        public let storageKey: String
        public let dtype: DType
        public let offset: Int
        public let shape: [Int]
        public let stride: [Int]
    }

    public let path: String
    /// In state-dict order.
    public let tensors: [Tensor]
    /// Storage key → (dtype, raw bytes range in the file).
    let storages: [String: (dtype: DType, range: Range<Int>)]
    let file: MappedFile

    /// 0x1950a86a20f9469cfc6c, little-endian, as the first pickle's LONG1 holds it.
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.file = file
        self.path = path
        func bad(_ r: String) -> ModelError { .invalidArchive(path: path, reason: r) }
        var reader = PickleReader(bytes: file.bytes, path: path)
        let magic = try reader.load()
        guard case .bigInt(let m) = magic, m == Self.magic else { throw bad("not a legacy PyTorch checkpoint (magic number)") }
        guard case .int(let proto) = try reader.load(), proto == 1001 else { throw bad("unsupported legacy protocol version") }
        _ = try reader.load()  // system info
        let stateDict = try reader.load()
        guard case .list(let keysList) = try reader.load() else { throw bad("storage key list missing") }
        let keys = try keysList.map { v -> String in
            guard case .string(let s) = v else { throw bad("storage key is not a string") }
            return s
        }
        guard case .dict(let pairs) = stateDict else { throw bad("state dict is not a dictionary") }
        var tensors: [Tensor] = []
        var storageTypes: [String: DType] = [:]
        for (k, v) in pairs {
            guard case .string(let name) = k, case .tensor(let key, let dtype, let offset, let shape, let stride) = v else {
                throw bad("state dict entry is not a named tensor")
            }
            tensors.append(Tensor(name: name, storageKey: key, dtype: dtype, offset: offset, shape: shape, stride: stride))
            storageTypes[key] = dtype
        }
        // Raw storages, in the order of the key list.
        var storages: [String: (DType, Range<Int>)] = [:]
        var o = reader.offset
        let b = file.bytes
        for key in keys {
            guard o + 8 <= b.count else { throw bad("storage '\(key)' is cut off (truncated file?)") }
            let count = Int(Int64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: Int64.self)))
            o += 8
            let dtype = storageTypes[key] ?? .F32
            guard count >= 0, count <= (b.count - o) / dtype.byteSize else { throw bad("storage '\(key)' runs past the end (truncated file?)") }
            storages[key] = (dtype, o..<(o + count * dtype.byteSize))
            o += count * dtype.byteSize
        }
        guard o == b.count else { throw bad("\(b.count - o) unexpected bytes after the last storage") }
        self.storages = storages
        self.tensors = tensors
    }

    /// The tensor's values, contiguous in row-major order, as float32.
    public func floats(_ t: Tensor) throws -> [Float] {
        guard let s = storages[t.storageKey] else { throw ModelError.invalidArchive(path: path, reason: "tensor '\(t.name)' has no storage") }
        guard t.dtype == .F32 else { throw ModelError.unsupportedDType(path: path, name: t.name, dtype: t.dtype.rawValue) }
        let n = t.shape.reduce(1, *)
        let elements = s.range.count / 4
        // Every index the strides can reach must lie inside the storage.
        var maxIndex = t.offset
        for (d, st) in zip(t.shape, t.stride) where d > 0 { maxIndex += (d - 1) * st }
        guard n == 0 || (t.offset >= 0 && t.stride.allSatisfy { $0 >= 0 } && maxIndex < elements) else {
            throw ModelError.invalidArchive(path: path, reason: "tensor '\(t.name)' reaches outside its storage")
        }
        var out = [Float](repeating: 0, count: n)
        let base = file.bytes.baseAddress! + s.range.lowerBound
        var index = [Int](repeating: 0, count: t.shape.count)
        for i in 0..<n {
            var e = t.offset
            for d in 0..<index.count { e += index[d] * t.stride[d] }
            out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * e, as: UInt32.self)))
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < t.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// The float tensors as a safetensors file (state-dict order), leaving out
    /// integer bookkeeping such as `num_batches_tracked`.
    public func safetensors(metadata: [String: String] = [:]) throws -> Data {
        var entries: [SafeTensorsWriter.Entry] = []
        for t in tensors where t.dtype == .F32 {
            entries.append(.init(name: t.name, shape: t.shape, floats: try floats(t)))
        }
        return SafeTensorsWriter.encode(entries, metadata: metadata)
    }
}

/// The subset of the pickle machine that legacy checkpoints need.
struct PickleReader {
    indirect enum Value {
        case none, bool(Bool), int(Int), float(Double), string(String), bigInt([UInt8])
        case tuple([Value]), list([Value]), dict([(Value, Value)])
        case global(String, String)
        case storage(key: String, dtype: DType)
        case tensor(key: String, dtype: DType, offset: Int, shape: [Int], stride: [Int])
        case mark
    }

    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, path: String) { self.bytes = bytes; self.path = path }

    func bad(_ r: String) -> ModelError { .invalidArchive(path: path, reason: "pickle at byte \(offset): \(r)") }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw bad("unexpected end of file") }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, offset + n <= bytes.count else { throw bad("unexpected end of file") }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }
    mutating func uint(_ n: Int) throws -> Int {
        let b = try take(n)
        var v = 0
        for i in (0..<n).reversed() { v = (v << 8) | Int(b[i]) }
        return v
    }
    mutating func line() throws -> String {
        var s: [UInt8] = []
        while true { let c = try byte(); if c == 0x0a { break }; s.append(c); if s.count > 256 { throw bad("line too long") } }
        return String(decoding: s, as: UTF8.self)
    }

    static let storageTypes: [String: DType] = [
        "FloatStorage": .F32, "LongStorage": .I64, "IntStorage": .I32, "HalfStorage": .F16,
        "DoubleStorage": .F64, "BFloat16Storage": .BF16, "ByteStorage": .U8, "BoolStorage": .BOOL,
    ]

    /// Runs one pickle to its STOP and returns the value.
    mutating func load() throws -> Value {
        var stack: [Value] = []
        var memo: [Int: Value] = [:]
        func pop() throws -> Value { guard let v = stack.popLast() else { throw bad("stack underflow") }; return v }
        func popMark() throws -> [Value] {
            guard let i = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else { throw bad("no mark") }
            let items = Array(stack[(i + 1)...]); stack.removeSubrange(i...); return items
        }
        func setItems(_ items: [Value]) throws {
            guard items.count % 2 == 0, case .dict(var pairs) = try pop() else { throw bad("SETITEMS on a non-dict") }
            for i in stride(from: 0, to: items.count, by: 2) { pairs.append((items[i], items[i + 1])) }
            stack.append(.dict(pairs))
        }
        var steps = 0
        while true {
            steps += 1
            if steps > 50_000_000 { throw bad("too many operations") }
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                   // PROTO
            case 0x95: _ = try take(8)                                  // FRAME
            case 0x2e: return try pop()                                 // STOP
            case 0x28: stack.append(.mark)                              // MARK
            case 0x4e: stack.append(.none)                              // NONE
            case 0x88: stack.append(.bool(true))                        // NEWTRUE
            case 0x89: stack.append(.bool(false))                       // NEWFALSE
            case 0x4b: stack.append(.int(try uint(1)))                  // BININT1
            case 0x4d: stack.append(.int(try uint(2)))                  // BININT2
            case 0x4a: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x8a:                                                  // LONG1
                let n = Int(try byte())
                let b = try take(n)
                if n > 8 { stack.append(.bigInt(Array(b))); break }
                var v = 0
                for i in (0..<n).reversed() { v = (v << 8) | Int(b[i]) }
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 { v -= 1 << (8 * n) }
                stack.append(.int(v))
            case 0x47:                                                  // BINFLOAT
                let b = try take(8)
                var bits: UInt64 = 0
                for i in 0..<8 { bits = (bits << 8) | UInt64(b[i]) }
                stack.append(.float(Double(bitPattern: bits)))
            case 0x58: stack.append(.string(String(decoding: try take(try uint(4)), as: UTF8.self)))  // BINUNICODE
            case 0x8c: stack.append(.string(String(decoding: try take(try uint(1)), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x55: stack.append(.string(String(decoding: try take(try uint(1)), as: UTF8.self)))  // SHORT_BINSTRING
            case 0x54: stack.append(.string(String(decoding: try take(try uint(4)), as: UTF8.self)))  // BINSTRING
            case 0x29: stack.append(.tuple([]))                         // EMPTY_TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                // TUPLE1
            case 0x86: let b = try pop(); let a = try pop(); stack.append(.tuple([a, b]))           // TUPLE2
            case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x74: stack.append(.tuple(try popMark()))              // TUPLE
            case 0x5d: stack.append(.list([]))                          // EMPTY_LIST
            case 0x6c: stack.append(.list(try popMark()))               // LIST
            case 0x7d: stack.append(.dict([]))                          // EMPTY_DICT
            case 0x61:                                                  // APPEND
                let v = try pop()
                guard case .list(var l) = try pop() else { throw bad("APPEND on a non-list") }
                l.append(v); stack.append(.list(l))
            case 0x65:                                                  // APPENDS
                let items = try popMark()
                guard case .list(var l) = try pop() else { throw bad("APPENDS on a non-list") }
                l += items; stack.append(.list(l))
            case 0x73: let v = try pop(); let k = try pop(); try setItems([k, v])  // SETITEM
            case 0x75: try setItems(try popMark())                      // SETITEMS
            case 0x71: memo[try uint(1)] = stack.last                   // BINPUT
            case 0x72: memo[try uint(4)] = stack.last                   // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                    // MEMOIZE
            case 0x68, 0x6a:                                            // BINGET, LONG_BINGET
                let i = try uint(op == 0x68 ? 1 : 4)
                guard let v = memo[i] else { throw bad("unknown memo \(i)") }
                stack.append(v)
            case 0x63:                                                  // GLOBAL
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                  // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else { throw bad("STACK_GLOBAL needs strings") }
                stack.append(try global(module, name))
            case 0x51:                                                  // BINPERSID
                guard case .tuple(let pid) = try pop(), pid.count >= 5, case .string("storage") = pid[0],
                      case .storage(_, let dtype) = pid[1], case .string(let key) = pid[2] else {
                    throw bad("unsupported persistent id")
                }
                stack.append(.storage(key: key, dtype: dtype))
            case 0x52:                                                  // REDUCE
                guard case .tuple(let args) = try pop() else { throw bad("REDUCE needs an argument tuple") }
                let callable = try pop()
                stack.append(try reduce(callable, args))
            case 0x62: _ = try pop()                                    // BUILD: state ignored (OrderedDict metadata)
            default:
                throw bad(String(format: "unsupported opcode 0x%02x", op))
            }
        }
    }

    func global(_ module: String, _ name: String) throws -> Value {
        switch (module, name) {
        case ("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"): return .global(module, name)
        case ("torch", let n) where Self.storageTypes[n] != nil: return .storage(key: "", dtype: Self.storageTypes[n]!)
        default: throw bad("refusing global \(module).\(name)")
        }
    }

    func reduce(_ callable: Value, _ args: [Value]) throws -> Value {
        switch callable {
        case .global("collections", "OrderedDict"):
            return .dict([])
        case .global("torch._utils", "_rebuild_tensor_v2"):
            guard args.count >= 4, case .storage(let key, let dtype) = args[0], case .int(let offset) = args[1],
                  case .tuple(let sizeV) = args[2], case .tuple(let strideV) = args[3] else { throw bad("malformed _rebuild_tensor_v2") }
            let shape = try sizeV.map { v -> Int in guard case .int(let i) = v, i >= 0 else { throw bad("bad size") }; return i }
            let stride = try strideV.map { v -> Int in guard case .int(let i) = v else { throw bad("bad stride") }; return i }
            guard shape.count == stride.count else { throw bad("size and stride differ in rank") }
            return .tensor(key: key, dtype: dtype, offset: offset, shape: shape, stride: stride)
        default:
            throw bad("call of an unsupported callable")
        }
    }
}
