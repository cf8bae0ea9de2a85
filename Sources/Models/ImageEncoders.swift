import Foundation
import Inference
import Imaging

public enum ImageEncoderCatalog {
    /// timm's eval transform for `tf_efficientnet_liteN`: short side to
    /// floor(size / crop_pct), bicubic, centre crop, (x − 0.5)/0.5.
    public static func preprocessing(_ v: EfficientNetLiteVariant) -> ImagePreprocessing {
        ImagePreprocessing(resizeShortSide: v.resizeSize, cropSize: v.imageSize, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    }
}

/// What an image encoder says about one image.
public struct ImageEncoding: Sendable {
    /// Pooled penultimate features (1280 for EfficientNet-Lite).
    public var features: [Float]
    /// ImageNet logits (1000).
    public var logits: [Float]
    public init(features: [Float], logits: [Float]) { self.features = features; self.logits = logits }
    public var top5: [Int] {
        logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5).map { $0 }
    }
    /// Softmax over the logits.
    public var probabilities: [Float] {
        let m = logits.max() ?? 0
        let e = logits.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}

/// An installed EfficientNet-Lite: decoding, preprocessing, forward pass.
public final class EfficientNetLiteEncoder: Sendable {
    public let variant: EfficientNetLiteVariant
    public let preprocessing: ImagePreprocessing
    public let model: EfficientNetLite

    public init(folder: URL, variant: EfficientNetLiteVariant) throws {
        self.variant = variant
        preprocessing = ImageEncoderCatalog.preprocessing(variant)
        model = try EfficientNetLite(folder: folder, imageSize: variant.imageSize)
    }

    public func encode(_ image: RGBAImage) -> ImageEncoding {
        let (features, logits) = model.forward(preprocessing.tensor(image))
        return ImageEncoding(features: features, logits: logits)
    }

    public func encode(path: String) throws -> ImageEncoding {
        encode(try ImageDecoder.decode(path: path).image)
    }
}
