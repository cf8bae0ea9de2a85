import CPNG
import CTurboJPEG
import CWebP
import Foundation
import RevsdSystem

/// Turns a file into pixels through the Debian libraries made for each
/// format (libpng, libjpeg-turbo, libwebp), with the format told by content
/// and every size checked before anything is allocated.
public enum ImageDecoder {
    /// Reads (never maps) and decodes a file (`reduced`: see `decode(_:path:limits:reduced:)`).
    public static func decode(path: String, limits: ImageLimits = ImageLimits(), reduced: ReducedDecode? = nil) throws(ImageError) -> DecodedImage {
        let bytes = try read(path: path, limits: limits)
        let result: Result<DecodedImage, ImageError> = bytes.withUnsafeBytes { raw in
            Result { () throws(ImageError) in try decode(raw, path: path, limits: limits, reduced: reduced) }
        }
        return try result.get()
    }

    /// A user's image file, whole, within the size limit.
    public static func read(path: String, limits: ImageLimits = ImageLimits()) throws(ImageError) -> [UInt8] {
        do { return try Syscalls.readWhole(path: path, limit: limits.maxFileBytes) } catch { throw ImageError(error) }
    }

    /// The file open as `fd` (a descriptor a client passed), whole, within the size limit.
    public static func read(descriptor fd: Int32, name: String, limits: ImageLimits = ImageLimits()) throws(ImageError) -> [UInt8] {
        do { return try Syscalls.readWhole(descriptor: fd, path: name, limit: limits.maxFileBytes) } catch { throw ImageError(error) }
    }

    /// Decodes a whole file held in memory. With `reduced`, a JPEG or a
    /// still, opaque lossy WebP larger than needed comes out smaller (its
    /// short side no less than `reduced.minimumShortSide`); PNG, lossless or
    /// transparent WebP (whose exact pixels may carry stealth metadata) and
    /// animations always decode exactly. Limits apply to the stored size.
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String, limits: ImageLimits = ImageLimits(),
                              reduced: ReducedDecode? = nil) throws(ImageError) -> DecodedImage {
        guard let format = ImageFormat.detect(bytes) else {
            if bytes.isEmpty { throw .unreadable(path: path, reason: "file is empty") }
            throw .unknownFormat(path: path)
        }
        switch format {
        case .png: return try decodePNG(bytes, path: path, limits: limits)
        case .jpeg: return try decodeJPEG(bytes, path: path, limits: limits, reduced: reduced)
        case .webp: return try decodeWebP(bytes, path: path, limits: limits, reduced: reduced)
        }
    }

    // MARK: PNG

    static func decodePNG(_ b: UnsafeRawBufferPointer, path: String, limits: ImageLimits) throws(ImageError) -> DecodedImage {
        var message = [CChar](repeating: 0, count: 256)
        var w: UInt32 = 0, h: UInt32 = 0
        var depth: Int32 = 0, color: Int32 = 0, interlaced: Int32 = 0
        let base = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let ok = revsd_png_header(base, b.count, &w, &h, &depth, &color, &interlaced, &message, message.count)
        guard ok == 0 else { throw .corrupt(path: path, format: .png, reason: Self.text(message)) }
        try limits.check(width: Int(w), height: Int(h), path: path)
        var pixels = [UInt8](repeating: 0, count: Int(w) * Int(h) * 4)
        let status = pixels.withUnsafeMutableBufferPointer { out in
            revsd_png_decode_rgba(base, b.count, out.baseAddress, out.count, &message, message.count)
        }
        guard status == 0 else { throw .corrupt(path: path, format: .png, reason: Self.text(message)) }
        let hasAlpha = (color & 4) != 0 || Self.pngHasTransparency(pixels)
        return DecodedImage(image: RGBAImage(width: Int(w), height: Int(h), pixels: pixels), format: .png,
                            storedWidth: Int(w), storedHeight: Int(h), orientation: 1, hasAlpha: hasAlpha, animated: false)
    }

    static func text(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func pngHasTransparency(_ rgba: [UInt8]) -> Bool {
        var i = 3
        while i < rgba.count { if rgba[i] != 255 { return true }; i += 4 }
        return false
    }

    // MARK: JPEG

    static func decodeJPEG(_ b: UnsafeRawBufferPointer, path: String, limits: ImageLimits, reduced: ReducedDecode?) throws(ImageError) -> DecodedImage {
        guard let tj = tjInitDecompress() else { throw .corrupt(path: path, format: .jpeg, reason: "decoder could not start") }
        defer { tjDestroy(tj) }
        var w: Int32 = 0, h: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let base = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard b.count <= Int(UInt32.max) else { throw .tooLarge(path: path, reason: "file too large") }
        if tjDecompressHeader3(tj, base, UInt(b.count), &w, &h, &subsamp, &colorspace) != 0 {
            throw .corrupt(path: path, format: .jpeg, reason: String(cString: tjGetErrorStr2(tj)))
        }
        guard w > 0, h > 0 else { throw .corrupt(path: path, format: .jpeg, reason: "no frame header (truncated?)") }
        try limits.check(width: Int(w), height: Int(h), path: path)
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        // The DCT scaling: libjpeg-turbo picks the factor from the size asked for.
        let factor = reduced?.jpegFactor(width: Int(w), height: Int(h)) ?? .one
        let (sw, sh) = (factor.scaled(Int(w)), factor.scaled(Int(h)))
        var pixels = [UInt8](repeating: 0, count: sw * sh * 4)
        let pf = cmyk ? TJPF_CMYK : TJPF_RGBX
        let status = pixels.withUnsafeMutableBufferPointer { out in
            tjDecompress2(tj, base, UInt(b.count), out.baseAddress, Int32(sw), 0, Int32(sh), Int32(pf.rawValue), 0)
        }
        if status != 0 {
            let message = String(cString: tjGetErrorStr2(tj))
            // Warnings leave a complete image, except a premature end, where the
            // missing part is grey fill: refuse that, as PIL does.
            if tjGetErrorCode(tj) != Int32(TJERR_WARNING.rawValue) || message.contains("Premature end") {
                throw .corrupt(path: path, format: .jpeg, reason: message.contains("Premature end") ? "truncated data (\(message))" : message)
            }
        }
        if cmyk {
            // Adobe CMYK/YCCK JPEGs store inverted ink; R = (255 − C)(255 − K)/255 on true ink values.
            let adobe = Self.hasAdobeMarker(b)
            for i in stride(from: 0, to: pixels.count, by: 4) {
                var c = Int(pixels[i]), m = Int(pixels[i + 1]), y = Int(pixels[i + 2]), k = Int(pixels[i + 3])
                if !adobe { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k }
                pixels[i] = UInt8((c * k + 127) / 255)
                pixels[i + 1] = UInt8((m * k + 127) / 255)
                pixels[i + 2] = UInt8((y * k + 127) / 255)
                pixels[i + 3] = 255
            }
        } else {
            for i in stride(from: 3, to: pixels.count, by: 4) { pixels[i] = 255 }
        }
        let orientation = ExifOrientation.fromJPEG(b)
        let image = RGBAImage(width: sw, height: sh, pixels: pixels).oriented(orientation)
        return DecodedImage(image: image, format: .jpeg, storedWidth: Int(w), storedHeight: Int(h),
                            orientation: orientation, hasAlpha: false, animated: false)
    }

    static func hasAdobeMarker(_ b: UnsafeRawBufferPointer) -> Bool {
        var found = false
        JPEGMarkers.forEach(b) { marker, payload in
            if marker == 0xEE && payload.count >= 5 && Array(payload[0..<5]) == Array("Adobe".utf8) { found = true }
        }
        return found
    }

    // MARK: WebP

    static func decodeWebP(_ b: UnsafeRawBufferPointer, path: String, limits: ImageLimits, reduced: ReducedDecode?) throws(ImageError) -> DecodedImage {
        let base = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var features = WebPBitstreamFeatures()
        let status = WebPGetFeatures(base, b.count, &features)
        guard status == VP8_STATUS_OK else {
            throw .corrupt(path: path, format: .webp, reason: status == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated data" : "invalid bitstream (status \(status.rawValue))")
        }
        if features.has_animation != 0 {
            var data = WebPData(bytes: base, size: b.count)
            var options = WebPAnimDecoderOptions()
            guard WebPAnimDecoderOptionsInit(&options) != 0 else { throw .corrupt(path: path, format: .webp, reason: "decoder version mismatch") }
            options.color_mode = MODE_RGBA
            options.use_threads = 0
            guard let dec = WebPAnimDecoderNew(&data, &options) else { throw .corrupt(path: path, format: .webp, reason: "invalid animation") }
            defer { WebPAnimDecoderDelete(dec) }
            var info = WebPAnimInfo()
            guard WebPAnimDecoderGetInfo(dec, &info) != 0 else { throw .corrupt(path: path, format: .webp, reason: "invalid animation header") }
            try limits.check(width: Int(info.canvas_width), height: Int(info.canvas_height), path: path)
            var frame: UnsafeMutablePointer<UInt8>? = nil
            var timestamp: Int32 = 0
            guard WebPAnimDecoderGetNext(dec, &frame, &timestamp) != 0, let frame else {
                throw .corrupt(path: path, format: .webp, reason: "first frame does not decode")
            }
            let n = Int(info.canvas_width) * Int(info.canvas_height) * 4
            let pixels = Array(UnsafeBufferPointer(start: frame, count: n))
            return DecodedImage(image: RGBAImage(width: Int(info.canvas_width), height: Int(info.canvas_height), pixels: pixels),
                                format: .webp, storedWidth: Int(info.canvas_width), storedHeight: Int(info.canvas_height),
                                orientation: 1, hasAlpha: features.has_alpha != 0, animated: true)
        }
        let w = Int(features.width), h = Int(features.height)
        try limits.check(width: w, height: h, path: path)
        // format 1: lossy (2 lossless, 0 mixed); alpha may hold stealth metadata.
        if let reduced, features.format == 1, features.has_alpha == 0, let size = reduced.webpSize(width: w, height: h) {
            return try decodeWebPScaled(b, path: path, storedWidth: w, storedHeight: h, to: size)
        }
        var pixels = [UInt8](repeating: 0, count: w * h * 4)
        let ok = pixels.withUnsafeMutableBufferPointer { out in
            WebPDecodeRGBAInto(base, b.count, out.baseAddress, out.count, Int32(w * 4)) != nil
        }
        guard ok else { throw .corrupt(path: path, format: .webp, reason: "image data does not decode (truncated or corrupt)") }
        return DecodedImage(image: RGBAImage(width: w, height: h, pixels: pixels), format: .webp, storedWidth: w, storedHeight: h,
                            orientation: 1, hasAlpha: features.has_alpha != 0, animated: false)
    }

    /// A still lossy WebP through libwebp's rescaler (area averaging as it
    /// writes the rows), straight into a buffer of the reduced size.
    static func decodeWebPScaled(_ b: UnsafeRawBufferPointer, path: String, storedWidth w: Int, storedHeight h: Int,
                                 to size: (width: Int, height: Int)) throws(ImageError) -> DecodedImage {
        let base = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var config = WebPDecoderConfig()
        guard WebPInitDecoderConfig(&config) != 0 else { throw .corrupt(path: path, format: .webp, reason: "decoder version mismatch") }
        config.options.use_scaling = 1
        config.options.scaled_width = Int32(size.width)
        config.options.scaled_height = Int32(size.height)
        config.options.use_threads = 0
        var pixels = [UInt8](repeating: 0, count: size.width * size.height * 4)
        let status = pixels.withUnsafeMutableBufferPointer { out in
            config.output.colorspace = MODE_RGBA
            config.output.is_external_memory = 1
            config.output.u.RGBA.rgba = out.baseAddress
            config.output.u.RGBA.stride = Int32(size.width * 4)
            config.output.u.RGBA.size = out.count
            defer { WebPFreeDecBuffer(&config.output) }
            return WebPDecode(base, b.count, &config)
        }
        guard status == VP8_STATUS_OK else {
            throw .corrupt(path: path, format: .webp, reason: status == VP8_STATUS_NOT_ENOUGH_DATA
                ? "truncated data" : "image data does not decode (status \(status.rawValue))")
        }
        return DecodedImage(image: RGBAImage(width: size.width, height: size.height, pixels: pixels), format: .webp,
                            storedWidth: w, storedHeight: h, orientation: 1, hasAlpha: false, animated: false)
    }
}
