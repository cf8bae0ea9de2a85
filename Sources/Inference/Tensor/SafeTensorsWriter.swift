import Foundation

/// Writes safetensors files: header JSON (keys in the order given, padded
/// with spaces to 8 bytes), then each tensor's little-endian bytes.
public enum SafeTensorsWriter {
    public struct Entry: Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]
        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
        }
        public init(name: String, shape: [Int], floats: [Float]) {
            precondition(shape.reduce(1, *) == floats.count, "\(name): shape \(shape) does not hold \(floats.count) values")
            self.init(name: name, dtype: .F32, shape: shape,
                      bytes: floats.withUnsafeBufferPointer { buf in
                          Array(UnsafeRawBufferPointer(buf)) })  // x86-64 and arm64 are little-endian
        }
    }

    public static func encode(_ entries: [Entry], metadata: [String: String] = [:]) -> Data {
        func quote(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        var parts: [String] = []
        if !metadata.isEmpty {
            parts.append("\"__metadata__\":{" + metadata.keys.sorted().map { "\(quote($0)):\(quote(metadata[$0]!))" }.joined(separator: ",") + "}")
        }
        var offset = 0
        for e in entries {
            precondition(e.bytes.count == e.shape.reduce(1, *) * e.dtype.byteSize, "\(e.name): byte count does not match shape")
            parts.append("\(quote(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + e.bytes.count)]}")
            offset += e.bytes.count
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while (header.count + 8) % 8 != 0 { header.append(0x20) }
        var out = Data(capacity: 8 + header.count + offset)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for e in entries { out.append(contentsOf: e.bytes) }
        return out
    }
}
