import Foundation
import Inference
import Imaging

/// transformers' `CLIPImageProcessor`, driven by a folder's
/// `preprocessor_config.json`: the shortest side resized (bicubic, the long
/// side ⌊size·long/short⌋), a centre crop at offset ⌊excess/2⌋, then
/// (x/255 − mean)/std.
///
/// Two resize back ends exist in transformers 5, and they differ by a level
/// or two on a few pixels: `CLIPImageProcessor` (torchvision on uint8
/// tensors) and `CLIPImageProcessorPil` (Pillow, which is what
/// transformers 4 and OpenAI's own preprocessing use). Both are reproduced
/// exactly; the folder's `image_processor_type` picks one as transformers 5
/// would.
public struct CLIPImageProcessor: Sendable, Equatable {
    public enum Backend: String, Sendable {
        case torchvision, pillow
    }

    public static let openAIMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let openAIStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    public var shortestEdge: Int
    public var cropSize: Int
    public var mean: [Float]
    public var std: [Float]
    public var backend: Backend

    public init(shortestEdge: Int, cropSize: Int, mean: [Float] = openAIMean, std: [Float] = openAIStd, backend: Backend = .torchvision) {
        self.shortestEdge = shortestEdge; self.cropSize = cropSize; self.mean = mean; self.std = std; self.backend = backend
    }

    /// Reads `preprocessor_config.json` in `folder`; without one, the
    /// processor's defaults at the model's own `imageSize`.
    public init(folder: URL, imageSize: Int) throws {
        let path = folder.appendingPathComponent("preprocessor_config.json").path
        guard let data = FileManager.default.contents(atPath: path) else {
            self.init(shortestEdge: imageSize, cropSize: imageSize)
            return
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidConfig(path: path, reason: "not a JSON object")
        }
        try self.init(json: json, path: path)
    }

    public init(json: [String: Any], path: String) throws {
        func bad(_ reason: String) -> ModelError { .invalidConfig(path: path, reason: reason) }
        func flag(_ key: String) -> Bool { (json[key] as? Bool) ?? true }
        /// An int, {"shortest_edge": n}, or a square {"height": n, "width": n}.
        func size(_ key: String, allowShortestEdge: Bool) throws -> Int? {
            guard let v = json[key], !(v is NSNull) else { return nil }
            if let n = v as? Int, n > 0 { return n }
            if let d = v as? [String: Any] {
                if allowShortestEdge, let n = d["shortest_edge"] as? Int, n > 0 { return n }
                if let h = d["height"] as? Int, let w = d["width"] as? Int, h > 0 {
                    guard h == w else { throw bad("\(key) is \(h)x\(w); only square crops are supported") }
                    guard !allowShortestEdge else {
                        throw bad("\(key) {height, width} resizes without keeping the aspect ratio; only shortest_edge is supported")
                    }
                    return h
                }
            }
            throw bad("\(key) is neither a positive integer nor a size object")
        }
        guard flag("do_resize") else { throw bad("do_resize false is not supported") }
        guard flag("do_center_crop") else { throw bad("do_center_crop false is not supported") }
        guard let edge = try size("size", allowShortestEdge: true) else { throw bad("no size") }
        let crop = try size("crop_size", allowShortestEdge: false) ?? edge
        if let r = json["resample"], !(r is NSNull) {
            guard let n = r as? Int, n == 3 else { throw bad("resample \(r) is not supported; only bicubic (3)") }
        }
        if flag("do_rescale"), let f = json["rescale_factor"] as? Double, abs(f - 1.0 / 255) > 1e-9 {
            throw bad("rescale_factor \(f) is not supported; only 1/255")
        }
        guard flag("do_rescale") else { throw bad("do_rescale false is not supported") }
        var mean = Self.openAIMean, std = Self.openAIStd
        if flag("do_normalize") {
            if let m = json["image_mean"] {
                guard let a = m as? [Double], a.count == 3 else { throw bad("image_mean is not three numbers") }
                mean = a.map(Float.init)
            }
            if let s = json["image_std"] {
                guard let a = s as? [Double], a.count == 3, a.allSatisfy({ $0 > 0 }) else { throw bad("image_std is not three positive numbers") }
                std = a.map(Float.init)
            }
        } else {
            mean = [0, 0, 0]; std = [1, 1, 1]
        }
        let type = (json["image_processor_type"] as? String) ?? (json["feature_extractor_type"] as? String) ?? "CLIPImageProcessor"
        self.init(shortestEdge: edge, cropSize: crop, mean: mean, std: std, backend: type.hasSuffix("Pil") ? .pillow : .torchvision)
    }

    public var preprocessing: ImagePreprocessing {
        ImagePreprocessing(resizeShortSide: shortestEdge, cropSize: cropSize, mean: mean, std: std,
                           resampling: backend == .pillow ? .pillow : .torchvisionUInt8, cropRounding: .towardZero)
    }

    /// The resized and cropped RGB bytes (cropSize² × 3).
    public func resizedCrop(_ image: RGBAImage) -> [UInt8] { preprocessing.resizedCrop(image) }

    /// The model input: (cropSize, cropSize, 3) floats, channels last.
    public func pixels(_ image: RGBAImage) -> [Float] { preprocessing.tensor(image) }
}
