import Foundation
import Inference
import XCTest
@testable import Imaging
@testable import Models

/// revsd's CLIP (tokenizer, both towers, preprocessing) against transformers
/// on two tiny random CLIP models: golden file Golden/clip-golden.json and the
/// folders under Fixtures/, written by tools/make_clip_golden.py (its
/// "provenance" names the library versions).
final class CLIPGoldenTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    struct Golden: Decodable {
        struct Text: Decodable { let ids: [Int32]; let text_embeds: String; let normalized: String }
        struct Image: Decodable { let image_embeds: String; let normalized: String; let image_embeds_torchvision: String }
        struct Sized: Decodable { let height: Int; let width: Int; let image_embeds: String }
        struct Model: Decodable {
            let text: [Text]
            let images: [String: Image]
            let interpolated: [Sized]
            let synthetic: Sized
            let logit_scale: Float
            let projection_dim: Int
        }
        struct Fuzz: Decodable { let text: String; let ids: [Int32] }
        let provenance: [String: AnyDecodable]
        let prompts: [String]
        let models: [String: Model]
        let fuzz: [Fuzz]
    }
    struct AnyDecodable: Decodable { init(from decoder: Decoder) throws {} }

    static let golden: Golden = try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: root.appendingPathComponent("Golden/clip-golden.json")))
    static let modelNames = ["clip-tiny-b32", "clip-tiny-h14"]

    static func floats(_ b64: String) -> [Float] {
        Data(base64Encoded: b64)!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func folder(_ name: String) -> URL { root.appendingPathComponent("Fixtures/\(name)") }

    /// The fp32 path, checked to transformers' precision (the bfloat16 one:
    /// `testBFloat16EmbeddingsStayWithinTheirToleranceOfTransformers`).
    nonisolated(unsafe) static var encoders: [String: CLIPEncoder] = [:]
    static func encoder(_ name: String) throws -> CLIPEncoder {
        if let e = encoders[name] { return e }
        let e = try CLIPEncoder(folder: folder(name), precision: .float32)
        encoders[name] = e
        return e
    }

    /// Worst absolute difference and lowest cosine over pairs of vectors.
    static func compare(_ got: [[Float]], _ want: [[Float]]) -> (worst: Float, cosine: Float) {
        var worst: Float = 0, cosine: Float = 1
        for (a, b) in zip(got, want) {
            precondition(a.count == b.count)
            for i in 0..<a.count { worst = max(worst, abs(a[i] - b[i])) }
            cosine = min(cosine, CLIPModel.cosine(a, b))
        }
        return (worst, cosine)
    }

    func testTheGoldenSetCoversWhatTheIssueAsksFor() {
        let texts = Self.golden.prompts
        XCTAssertGreaterThanOrEqual(texts.count, 60)
        XCTAssert(texts.contains { $0.contains("(masterpiece:1.2)") } && texts.contains { $0.contains("[cat|dog]") } && texts.contains { $0.contains("<lora:") })
        XCTAssert(texts.contains { $0.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) } }, "CJK")
        XCTAssert(texts.contains { $0.unicodeScalars.contains { $0.properties.isEmojiPresentation } }, "emoji")
        XCTAssert(texts.contains { $0.contains("é") }, "accents")
        XCTAssert(Self.golden.models["clip-tiny-b32"]!.text.contains { $0.ids.count == 77 }, "a prompt truncated to 77 tokens")
    }

    func testTokenIDsAreIdenticalToTheHuggingFaceTokenizer() throws {
        for name in Self.modelNames {
            let tokenizer = try XCTUnwrap(try Self.encoder(name).model.tokenizer)
            XCTAssertEqual(tokenizer.maxLength, 77)
            var identical = 0
            for (text, want) in zip(Self.golden.prompts, Self.golden.models[name]!.text) {
                let got = tokenizer.encode(text)
                if got == want.ids { identical += 1 } else { XCTFail("\(name): \(text.debugDescription)\n got \(got)\nwant \(want.ids)") }
            }
            print("CLIP tokenizer \(name): \(identical)/\(Self.golden.prompts.count) prompts with identical ids")
        }
    }

    /// Random text across scripts, planes, marks, odd spaces and special-token look-alikes.
    func testTokenIDsOfRandomTextAreIdenticalToTheHuggingFaceTokenizer() throws {
        let tokenizer = try XCTUnwrap(try Self.encoder("clip-tiny-b32").model.tokenizer)
        var identical = 0
        for c in Self.golden.fuzz {
            let got = tokenizer.encode(c.text)
            if got == c.ids { identical += 1 } else { XCTFail("\(c.text.debugDescription)\n got \(got)\nwant \(c.ids)") }
        }
        XCTAssertGreaterThanOrEqual(Self.golden.fuzz.count, 300)
        print("CLIP tokenizer fuzz: \(identical)/\(Self.golden.fuzz.count) random texts with identical ids")
    }

    func testTextEmbeddingsMatchTransformers() throws {
        for name in Self.modelNames {
            let enc = try Self.encoder(name)
            let g = Self.golden.models[name]!
            let projected = enc.model.textEmbeddings(Self.golden.prompts, batchSize: 16)
            let (worst, cosine) = Self.compare(projected, g.text.map { Self.floats($0.text_embeds) })
            let (worstN, cosineN) = Self.compare(enc.embed(texts: Self.golden.prompts), g.text.map { Self.floats($0.normalized) })
            print("CLIP text \(name): projected worst |Δ| \(worst), min cosine \(cosine); normalised worst |Δ| \(worstN), min cosine \(cosineN)")
            XCTAssertEqual(projected.first?.count, g.projection_dim)
            XCTAssertLessThanOrEqual(worst, 1e-4, name)
            XCTAssertLessThanOrEqual(worstN, 1e-4, name)
            XCTAssertGreaterThanOrEqual(cosineN, 0.99999, name)
            XCTAssertEqual(enc.model.logitScale, g.logit_scale, accuracy: 1e-3)
            // One text at a time gives the same as a batch.
            let single = enc.model.textEmbeddings([Self.golden.prompts[5]])[0]
            XCTAssertLessThanOrEqual(Self.compare([single], [projected[5]]).worst, 1e-5)
        }
    }

    func testImageEmbeddingsOfTheProjectImagesMatchTransformers() throws {
        for name in Self.modelNames {
            let enc = try Self.encoder(name)
            let g = Self.golden.models[name]!
            var processor = try XCTUnwrap(enc.processor)
            XCTAssertEqual(processor.backend, .torchvision, "preprocessor_config.json names CLIPImageProcessor")
            var images: [RGBAImage] = [], want: [[Float]] = [], wantTV: [[Float]] = [], wantNorm: [[Float]] = []
            for (key, entry) in g.images.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("shared:") {
                images.append(try ImageDecoder.decode(path: Self.root.appendingPathComponent("Fixtures/images/\(key)").path).image)
                want.append(Self.floats(entry.image_embeds)); wantTV.append(Self.floats(entry.image_embeds_torchvision))
                wantNorm.append(Self.floats(entry.normalized))
            }
            XCTAssertEqual(images.count, 15)
            let size = processor.cropSize
            let tv = enc.model.imageEmbeddings(images.map(processor.pixels), height: size, width: size)
            processor.backend = .pillow
            let pil = enc.model.imageEmbeddings(images.map(processor.pixels), height: size, width: size)
            let (worstPIL, cosPIL) = Self.compare(pil, want)
            let (worstTV, cosTV) = Self.compare(tv, wantTV)
            let (worstN, cosN) = Self.compare(pil.map(CLIPModel.normalized), wantNorm)
            print("CLIP image \(name): Pillow back end worst |Δ| \(worstPIL) (cos \(cosPIL)), torchvision back end worst |Δ| \(worstTV) (cos \(cosTV)), normalised worst |Δ| \(worstN) (cos \(cosN))")
            XCTAssertLessThanOrEqual(worstPIL, 1e-4, name)
            XCTAssertLessThanOrEqual(worstTV, 1e-4, name)
            XCTAssertLessThanOrEqual(worstN, 1e-4, name)
        }
    }

    /// Both towers of every tiny checkpoint with their dense layers in
    /// bfloat16, against transformers' fp32 embeddings: the lowest cosine
    /// over the golden prompts and the project's images at least 0.999.
    func testBFloat16EmbeddingsStayWithinTheirToleranceOfTransformers() throws {
        guard BFloat16MatMul.isAvailable else {
            throw XCTSkip("this CPU has no AVX-512 BF16 (or REVSD_MATMUL=fp32): revsd runs CLIP in fp32 here, checked above")
        }
        for name in Self.modelNames {
            let enc = try CLIPEncoder(folder: Self.folder(name), precision: .bfloat16)
            let g = Self.golden.models[name]!
            let text = Self.compare(enc.embed(texts: Self.golden.prompts), g.text.map { Self.floats($0.normalized) })
            var processor = try XCTUnwrap(enc.processor)
            processor.backend = .pillow
            var images: [RGBAImage] = [], want: [[Float]] = []
            for (key, entry) in g.images.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("shared:") {
                images.append(try ImageDecoder.decode(path: Self.root.appendingPathComponent("Fixtures/images/\(key)").path).image)
                want.append(Self.floats(entry.normalized))
            }
            let size = processor.cropSize
            let image = Self.compare(enc.model.imageEmbeddings(images.map(processor.pixels), height: size, width: size).map(CLIPModel.normalized), want)
            print("CLIP \(name), bfloat16 products: text min cosine \(text.cosine), image min cosine \(image.cosine) (\(images.count) images)")
            XCTAssertGreaterThanOrEqual(text.cosine, 0.999, name)
            XCTAssertGreaterThanOrEqual(image.cosine, 0.999, name)
            XCTAssertEqual(images.count, 15)
        }
    }

    func testImageEmbeddingsOfSharedImagesMatchTransformers() throws {
        guard let dir = EfficientNetTests.sharedFixtures else { throw XCTSkip("../shared/fixtures absent: CLIP embeddings of the shared images not checked") }
        for name in Self.modelNames {
            let enc = try Self.encoder(name)
            var processor = try XCTUnwrap(enc.processor)
            let size = processor.cropSize
            for backend in [CLIPImageProcessor.Backend.torchvision, .pillow] {
                processor.backend = backend
                var worst: Float = 0, cosine: Float = 1, n = 0
                for (key, entry) in Self.golden.models[name]!.images.sorted(by: { $0.key < $1.key }) where key.hasPrefix("shared:") {
                    let image = try ImageDecoder.decode(path: dir.appendingPathComponent(String(key.dropFirst(7))).path).image
                    let got = enc.model.imageEmbeddings([processor.pixels(image)], height: size, width: size)
                    let r = Self.compare(got, [Self.floats(backend == .pillow ? entry.image_embeds : entry.image_embeds_torchvision)])
                    worst = max(worst, r.worst); cosine = min(cosine, r.cosine); n += 1
                }
                print("CLIP image \(name) (\(backend)): \(n) shared images, worst |Δ| \(worst), min cosine \(cosine)")
                XCTAssertGreaterThan(n, 0)
                XCTAssertLessThanOrEqual(worst, 1e-4, name)
            }
        }
    }

    func testPreprocessingMatchesCLIPImageProcessorExactlyOnBothBackEnds() throws {
        var exact = 0, total = 0
        for name in Self.modelNames {
            var processor = try XCTUnwrap(try Self.encoder(name).processor)
            for file in ["scene-320x200.png", "tall-180x260.jpg", "orientation6.jpg", "palette.png", "rgb16.png"] {
                let image = try ImageDecoder.decode(path: Self.root.appendingPathComponent("Fixtures/images/\(file)").path).image
                for backend in [CLIPImageProcessor.Backend.pillow, .torchvision] {
                    processor.backend = backend
                    let crop = processor.resizedCrop(image)
                    let ref = try ImageDecoder.decode(path: Self.root.appendingPathComponent(
                        "Golden/clip-preprocess/\(file).\(processor.cropSize).\(backend == .pillow ? "pil" : "torchvision").png").path).image
                    XCTAssertEqual(ref.width, processor.cropSize)
                    var worst = 0
                    for p in 0..<(ref.width * ref.height) {
                        for c in 0..<3 {
                            let d = abs(Int(crop[p * 3 + c]) - Int(ref.pixels[p * 4 + c]))
                            worst = max(worst, d); total += 1; if d == 0 { exact += 1 }
                        }
                    }
                    // Within one level; the JPEG decoders (libjpeg-turbo here, Pillow's there) may differ by one.
                    XCTAssertLessThanOrEqual(worst, file.hasSuffix(".jpg") ? 1 : 0, "\(name) \(file) \(backend)")
                }
            }
        }
        print("CLIP preprocessing: \(exact)/\(total) samples identical to CLIPImageProcessor (Pillow and torchvision back ends)")
    }

    /// HF `interpolate_pos_encoding=True` at other sizes, on a synthetic input.
    func testPositionEmbeddingsAreInterpolatedAsTransformersDoes() throws {
        func pixels(_ h: Int, _ w: Int) -> [Float] {
            var out = [Float](repeating: 0, count: h * w * 3)
            for y in 0..<h { for x in 0..<w { for c in 0..<3 {
                out[(y * w + x) * 3 + c] = Float(Foundation.sin(0.37 * Double(x) + 0.23 * Double(y) + 1.1 * Double(c))) * 1.5
            } } }
            return out
        }
        for name in Self.modelNames {
            let enc = try Self.encoder(name)
            let g = Self.golden.models[name]!
            for c in g.interpolated + [g.synthetic] {
                let got = enc.model.imageEmbeddings([pixels(c.height, c.width)], height: c.height, width: c.width)
                let (worst, cosine) = Self.compare(got, [Self.floats(c.image_embeds)])
                print("CLIP interpolated \(name) \(c.height)x\(c.width): worst |Δ| \(worst), cosine \(cosine)")
                XCTAssertLessThanOrEqual(worst, 1e-4, "\(name) \(c.height)x\(c.width)")
            }
        }
    }

    func testSeparateTowerFoldersGiveTheSameEmbeddings() throws {
        let g = Self.golden.models["clip-tiny-b32"]!
        let enc = try CLIPEncoder(folder: Self.folder("clip-tiny-b32-vision"), textFolder: Self.folder("clip-tiny-b32-text"), precision: .float32)
        XCTAssert(enc.hasVision && enc.hasText)
        let image = try ImageDecoder.decode(path: Self.root.appendingPathComponent("Fixtures/images/scene-320x200.png").path).image
        // transformers 5 saves every image processor as "CLIPImageProcessor": the torchvision back end.
        XCTAssertEqual(enc.processor?.backend, .torchvision)
        let want = CLIPModel.normalized(Self.floats(g.images["scene-320x200.png"]!.image_embeds_torchvision))
        XCTAssertLessThanOrEqual(Self.compare([enc.embed(image: image)], [want]).worst, 1e-4)
        let texts = Array(Self.golden.prompts.prefix(10))
        XCTAssertLessThanOrEqual(Self.compare(enc.embed(texts: texts), g.text.prefix(10).map { Self.floats($0.normalized) }).worst, 1e-4)
        // Each tower alone.
        let visionOnly = try CLIPEncoder(folder: Self.folder("clip-tiny-b32-vision"), precision: .float32)
        XCTAssert(visionOnly.hasVision && !visionOnly.hasText)
        let textOnly = try CLIPEncoder(folder: Self.folder("clip-tiny-b32-text"), precision: .float32)
        XCTAssert(textOnly.hasText && !textOnly.hasVision)
        XCTAssertNil(textOnly.processor)
    }
}
