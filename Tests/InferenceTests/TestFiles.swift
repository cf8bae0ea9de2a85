import Foundation

/// A temporary directory, removed with its content when the test ends.
final class TemporaryDirectory {
    let url: URL
    init() {
        url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("revsd-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ name: String, _ data: Data) -> String {
        let p = path(name)
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! data.write(to: URL(fileURLWithPath: p))
        return p
    }
    func write(_ name: String, _ text: String) -> String { write(name, Data(text.utf8)) }
}

/// Writes safetensors files, well-formed or deliberately broken.
enum SafeTensorsWriter {
    struct Tensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: [UInt8]
    }

    static func f32(_ name: String, _ shape: [Int], _ values: [Float]) -> Tensor {
        Tensor(name: name, dtype: "F32", shape: shape, bytes: values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } })
    }

    /// The file for `tensors`, laid out back to back; `header` edits the JSON.
    static func file(_ tensors: [Tensor], metadata: [String: String]? = nil,
                     editHeader: ((inout [String: Any]) -> Void)? = nil) -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        var data: [UInt8] = []
        for t in tensors {
            header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]]
            offset += t.bytes.count
            data += t.bytes
        }
        if let metadata { header["__metadata__"] = metadata }
        editHeader?(&header)
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (json.count + 8) % 8 != 0 { json.append(0x20) }  // pad as the reference writer does
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(contentsOf: data)
        return out
    }
}
