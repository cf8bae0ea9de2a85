import Foundation
import Inference
import Imaging
import RevsdSystem

/// A CLIP model ready for images and text: the towers (`CLIPModel`) and the
/// folder's image preprocessing. One ensemble member of revsd.
public final class CLIPEncoder: Sendable {
    public let model: CLIPModel
    /// Present when the model has a vision tower.
    public let processor: CLIPImageProcessor?
    /// A name for messages and caches (the registered name, or the folder's).
    public let name: String

    /// Loads a `CLIPModel` folder, a single-tower folder, or a vision folder
    /// and a text folder.
    public init(folder: URL, textFolder: URL? = nil, name: String? = nil, precision: MatMulPrecision = .automatic) throws {
        if let textFolder {
            model = try CLIPModel(visionFolder: folder, textFolder: textFolder, precision: precision)
        } else {
            model = try CLIPModel(folder: folder, precision: precision)
        }
        processor = try model.vision.map { try CLIPImageProcessor(folder: folder, imageSize: $0.config.imageSize) }
        self.name = name ?? folder.lastPathComponent
    }

    public var hasVision: Bool { model.vision != nil }
    public var hasText: Bool { model.text != nil }
    public var dimension: Int { model.projectionDim }

    /// Unit-length image embeddings (`image_embeds` of transformers' CLIPModel).
    public func embed(images: [RGBAImage]) -> [[Float]] {
        guard let processor else { preconditionFailure("\(name) has no vision tower") }
        let size = processor.cropSize
        return model.imageEmbeddings(images.map(processor.pixels), height: size, width: size).map(CLIPModel.normalized)
    }

    public func embed(image: RGBAImage) -> [Float] { embed(images: [image])[0] }

    public func embed(path: String) throws -> [Float] {
        embed(image: try ImageDecoder.decode(path: path).image)
    }

    /// Unit-length text embeddings (`text_embeds` of transformers' CLIPModel).
    public func embed(texts: [String], batchSize: Int = 32) -> [[Float]] {
        model.textEmbeddings(texts, batchSize: batchSize).map(CLIPModel.normalized)
    }

    /// A key that changes when the weights do, or the text tower's
    /// precision (for caches of embeddings).
    public var cacheKey: String {
        var parts: [String] = []
        for tower in [model.vision?.checkpoint, model.text?.checkpoint].compactMap({ $0 }) {
            parts.append("\(tower.path)|\(tower.file.count)")
        }
        if model.text?.encoder.precision == .bfloat16 { parts.append(BFloat16MatMul.numerics) }
        return String(SHA256.hex(string: parts.joined(separator: "\n")).prefix(16))
    }
}
