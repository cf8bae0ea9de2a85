import CTurboJPEG

/// Pixels to a baseline JPEG file through TurboJPEG (`tjCompress2`, 4:2:0
/// chroma), the buffer TurboJPEG allocates copied out and freed with `tjFree`.
/// Used to make re-saved copies of images (near-duplicate tests and bench).
public enum JPEGEncoder {
    /// `pixels`: (height, width, 4) RGBA bytes (alpha dropped); `quality` 1–100.
    public static func encode(_ pixels: [UInt8], width: Int, height: Int, quality: Int,
                              name: String) throws(ImageError) -> [UInt8] {
        precondition(pixels.count == width * height * 4, "pixel buffer size")
        precondition((1...100).contains(quality), "JPEG quality 1–100")
        // JPEG's limit on either side.
        guard width > 0, height > 0, width <= 65535, height <= 65535 else {
            throw .tooLarge(path: name, reason: "\(width)×\(height) cannot be written as JPEG (1 to 65535 px a side)")
        }
        guard let handle = tjInitCompress() else { throw .corrupt(path: name, format: .jpeg, reason: "TurboJPEG could not start a compressor") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let rc = pixels.withUnsafeBufferPointer { p in
            tjCompress2(handle, p.baseAddress, Int32(width), Int32(width * 4), Int32(height), Int32(TJPF_RGBA.rawValue),
                        &output, &size, Int32(TJSAMP_420.rawValue), Int32(quality), 0)
        }
        defer { if let output { tjFree(output) } }
        guard rc == 0, let output, size > 0 else {
            throw .corrupt(path: name, format: .jpeg, reason: "TurboJPEG could not encode: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
