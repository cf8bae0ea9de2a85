import XCTest
@testable import Metadata

/// Containers built by hand: where each format keeps its text, and how the
/// reader chooses when a file carries several.
final class MetadataContainerTests: XCTestCase {
    typealias B = MetadataFileBuilder
    let a1111 = "a lighthouse at dusk\nNegative prompt: fog\nSteps: 12, Sampler: Euler, CFG scale: 4, Seed: 9, Size: 640x448"

    func testPNGTextChunksOfEveryKind() throws {
        // UTF-8 written into tEXt (as tools do), zTXt after IDAT, iTXt compressed or not.
        for chunk in [B.tEXt("parameters", a1111 + ", Model: 日本"), B.iTXt("parameters", a1111 + ", Model: 日本", compressed: true),
                      B.iTXt("parameters", a1111 + ", Model: 日本", compressed: false)] {
            let m = try XCTUnwrap(MetadataFixtures.read(bytes: B.png([chunk])).metadata)
            XCTAssertEqual([m.prompt, m.negativePrompt, m.model], ["a lighthouse at dusk", "fog", "日本"])
            XCTAssertEqual([m.steps, m.width, m.height], [12, 640, 448])
        }
        let after = MetadataFixtures.read(bytes: B.png([], after: [B.zTXt("parameters", ZipWriter.zlib(Array(a1111.utf8)))]))
        XCTAssertEqual(after.metadata?.prompt, "a lighthouse at dusk")
        XCTAssertEqual(after.notes, [])
        // Bytes that are not UTF-8 are Latin-1, as the spec says.
        let latin1 = B.png([B.chunk("tEXt", Array("parameters".utf8) + [0] + Array("caf".utf8) + [0xE9] + Array("\nSteps: 1, Seed: 2".utf8))])
        XCTAssertEqual(MetadataFixtures.read(bytes: latin1).metadata?.prompt, "café")
    }

    func testPNGEXIFChunkAndBadCRC() throws {
        let exif = B.chunk("eXIf", B.tiff(userComment: B.unicodeComment(a1111, bigEndian: true)))
        XCTAssertEqual(MetadataFixtures.read(bytes: B.png([exif])).metadata?.seed, 9)
        let report = MetadataFixtures.read(bytes: B.png([B.chunk("tEXt", Array("parameters\0".utf8) + Array(a1111.utf8), badCRC: true)]), path: "x.png")
        XCTAssertEqual(report.metadata?.prompt, "a lighthouse at dusk", "a bad CRC is reported, the text still read")
        XCTAssertEqual(report.notes.count, 1)
        XCTAssert(report.notes[0].hasPrefix("x.png: bad CRC in PNG chunk tEXt at offset 33"), report.notes[0])
    }

    func testUserCommentEncodingsAndByteOrders() throws {
        let ascii = Array("ASCII\0\0\0".utf8) + Array(a1111.utf8)
        let undefined = [UInt8](repeating: 0, count: 8) + Array(a1111.utf8)
        let cases: [([UInt8], Bool, Int)] = [
            (B.unicodeComment(a1111 + " テスト", bigEndian: true), false, 0),
            (B.unicodeComment(a1111 + " テスト", bigEndian: false), true, 0),
            (B.unicodeComment(a1111 + " テスト", bigEndian: true), true, 1),   // BE text in an LE file: content decides
            (ascii, false, 0), (undefined, true, 0),
        ]
        for (i, (comment, littleEndian, notes)) in cases.enumerated() {
            let r = MetadataFixtures.read(bytes: B.jpeg(app1: B.tiff(userComment: comment, littleEndian: littleEndian)))
            XCTAssertEqual(r.metadata?.prompt, "a lighthouse at dusk", "case \(i)")
            XCTAssertEqual(r.metadata?.width, 640, "case \(i)")
            XCTAssertEqual(r.notes.count, notes, "case \(i): \(r.notes)")
        }
        let odd = B.unicodeComment(a1111, bigEndian: true) + [0x41]
        let r = MetadataFixtures.read(bytes: B.webp(exif: B.tiff(userComment: odd)))
        XCTAssertEqual(r.metadata?.prompt, "a lighthouse at dusk")
        XCTAssert(r.notes.contains { $0.contains("odd length") }, "\(r.notes)")
    }

    func testJPEGCommentXMPAndWebPPrefixes() throws {
        let com = [0xFF, 0xD8, 0xFF, 0xFE, 0, UInt8(a1111.utf8.count + 2)] + Array(a1111.utf8) + [0xFF, 0xD9]
        XCTAssertEqual(MetadataFixtures.read(bytes: com).metadata?.steps, 12)
        let xmp = """
        <x:xmpmeta><rdf:RDF><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/">
        <xmp:CreatorTool>Draw Things</xmp:CreatorTool>
        <exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{"c":"a &amp; b &#x3C;3","uc":"","seed":5,"steps":8,"size":"512x512"}</rdf:li></rdf:Alt></exif:UserComment>
        </rdf:Description></rdf:RDF></x:xmpmeta>
        """
        let payload = Array(JPEGSegments.xmpSignature.utf8) + Array(xmp.utf8)
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload + [0xFF, 0xD9]
        let m = try XCTUnwrap(MetadataFixtures.read(bytes: jpeg).metadata)
        XCTAssertEqual([m.source, m.prompt], ["drawthings", "a & b <3"])
        XCTAssertEqual([m.seed], [5])
        // WebP EXIF with the JPEG-style "Exif\0\0" prefix, ComfyUI's "prompt:" in Make.
        var tiff = Array("MM\0*".utf8) + B.be32(8) + [0, 1, 0x01, 0x0F, 0, 2]
        let graph = #"prompt:{"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "webp fox"}}, "2": {"class_type": "KSampler", "inputs": {"positive": ["1", 0]}}}"#
        tiff += B.be32(graph.utf8.count + 1) + B.be32(26) + B.be32(0) + Array(graph.utf8) + [0]
        let w = MetadataFixtures.read(bytes: B.webp(exif: Array("Exif\0\0".utf8) + tiff))
        XCTAssertEqual(w.metadata?.prompt, "webp fox")
        XCTAssertEqual(w.metadata?.source, "comfyui")
    }

    func testPrecedenceBetweenSeveralRecords() throws {
        let comfy = #"{"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "graph prompt"}}, "2": {"class_type": "KSampler", "inputs": {"positive": ["1", 0], "seed": 77, "steps": 30}}}"#
        // A1111 text saying "unknown": the graph's prompt wins, the A1111 settings fill what the graph lacks.
        let unknown = "unknown\nNegative prompt: unknown\nSteps: 20, Sampler: euler, Seed: 0, Size: 512x512, Model: m"
        let m = try XCTUnwrap(MetadataFixtures.read(bytes: B.png([B.tEXt("parameters", unknown), B.tEXt("prompt", comfy)])).metadata)
        XCTAssertEqual([m.source, m.prompt, m.model], ["comfyui", "graph prompt", "m"])
        XCTAssertEqual(m.seed, 77)
        XCTAssertNil(m.negativePrompt, "a placeholder is not copied")
        // A real A1111 prompt is the tool's own record: it wins over the graph.
        let real = try XCTUnwrap(MetadataFixtures.read(bytes: B.png([B.tEXt("prompt", comfy), B.tEXt("parameters", a1111)])).metadata)
        XCTAssertEqual([real.source, real.prompt], ["automatic1111", "a lighthouse at dusk"])
        // Only the placeholder: it is what the file says.
        XCTAssertEqual(MetadataFixtures.read(bytes: B.png([B.tEXt("parameters", unknown)])).metadata?.prompt, "unknown")
        // NovelAI text chunks; Easy Diffusion style plain keys.
        let nai = B.png([B.tEXt("Description", "1girl, solo"), B.tEXt("Software", "NovelAI"), B.tEXt("Source", "NovelAI Diffusion V4.5 4BDE2A90"),
                         B.tEXt("Comment", #"{"prompt": "1girl, solo", "uc": "lowres", "steps": 28, "scale": 5.0, "seed": 3, "sampler": "k_euler", "width": 832, "height": 1216}"#)])
        let n = try XCTUnwrap(MetadataFixtures.read(bytes: nai).metadata)
        XCTAssertEqual([n.source, n.prompt, n.negativePrompt, n.modelHash], ["novelai", "1girl, solo", "lowres", "4BDE2A90"])
        let easy = B.png([B.tEXt("prompt", "a boat"), B.tEXt("negative_prompt", "fog"), B.tEXt("seed", "42"),
                          B.tEXt("num_inference_steps", "25"), B.tEXt("use_stable_diffusion_model", "sd-v1-4")])
        let e = try XCTUnwrap(MetadataFixtures.read(bytes: easy).metadata)
        XCTAssertEqual([e.source, e.prompt, e.negativePrompt, e.model], ["easydiffusion", "a boat", "fog", "sd-v1-4"])
        XCTAssertEqual([e.steps], [25])
    }

    func testFormatIsToldByContentNotName() {
        let png = B.png([B.tEXt("parameters", a1111)])
        XCTAssertEqual(MetadataFixtures.read(bytes: png, path: "looks-like.jpg").metadata?.steps, 12)
        XCTAssertNil(MetadataFixtures.read(bytes: Array("GIF89a".utf8), path: "x.png").metadata)
    }
}

extension MetadataContainerTests {
    func testFallbacksWhenTheMainRecordIsMissing() throws {
        // NovelAI without its Comment JSON; InvokeAI with only its graph; a ComfyUI wrapper that is not a graph.
        let nai = try XCTUnwrap(MetadataFixtures.read(bytes: B.png([B.tEXt("Software", "NovelAI"), B.tEXt("Description", "a moon")])).metadata)
        XCTAssertEqual([nai.source, nai.prompt], ["novelai", "a moon"])
        let graph = #"{"id": "g", "nodes": {"positive_prompt:1": {"id": "positive_prompt:1", "type": "string", "value": "a sun"}, "negative_prompt:2": {"type": "string", "value": "clouds"}}}"#
        let inv = try XCTUnwrap(MetadataFixtures.read(bytes: B.png([B.tEXt("invokeai_graph", graph)])).metadata)
        XCTAssertEqual([inv.source, inv.prompt, inv.negativePrompt], ["invokeai", "a sun", "clouds"])
        let wrapper = MetadataFixtures.read(bytes: B.jpeg(app1: B.tiff(userComment: Array("ASCII\0\0\0{\"prompt\": {\"a\": 1}}".utf8))))
        XCTAssertNil(wrapper.metadata)
        XCTAssert(wrapper.notes.contains { $0.contains("not a ComfyUI graph") }, "\(wrapper.notes)")
    }
}
