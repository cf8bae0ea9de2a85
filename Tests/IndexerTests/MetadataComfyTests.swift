import XCTest
@testable import Metadata

/// The ComfyUI graph walk on small hand-written graphs.
final class MetadataComfyTests: XCTestCase {
    func graph(_ json: String, file: StaticString = #filePath, line: UInt = #line) throws -> GenerationMetadata? {
        let o = try XCTUnwrap(JSONParser.object(json), file: file, line: line)
        return try XCTUnwrap(ComfyGraph(o), file: file, line: line).metadata(raw: json)
    }

    func testBasicKSampler() throws {
        let m = try XCTUnwrap(graph("""
        {"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
         "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
         "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
         "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
         "10": {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1], "lora_name": "x"}},
         "3": {"class_type": "KSampler", "inputs": {"seed": 18446744073709551615, "steps": 20, "cfg": 7.5,
               "sampler_name": "euler", "scheduler": "normal", "model": ["10", 0], "positive": ["6", 0],
               "negative": ["7", 0], "latent_image": ["5", 0]}},
         "extra": {"airs": []}}
        """))
        XCTAssertEqual(m, GenerationMetadata(prompt: "a cat", negativePrompt: "blurry", steps: 20, sampler: "euler", cfgScale: 7.5,
                                             seed: UInt64.max, width: 512, height: 768, model: "sd15.safetensors",
                                             source: "comfyui", raw: m.raw))
    }

    func testTextArrivingThroughOtherNodes() throws {
        // text ← switch(false) ← [TextGenerate (runtime only) | concat(primitive, primitive)], seed/steps from primitives.
        let m = try XCTUnwrap(graph("""
        {"1": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "a red fox"}},
         "2": {"class_type": "PrimitiveString", "inputs": {"value": "in snow"}},
         "3": {"class_type": "StringConcatenate", "inputs": {"string_a": ["1", 0], "string_b": ["2", 0], "delimiter": ", "}},
         "4": {"class_type": "TextGenerate", "inputs": {"prompt": ["3", 0], "max_length": 512}},
         "5": {"class_type": "PrimitiveBoolean", "inputs": {"value": false}},
         "6": {"class_type": "ComfySwitchNode", "inputs": {"switch": ["5", 0], "on_true": ["4", 0], "on_false": ["3", 0]}},
         "7": {"class_type": "CLIPTextEncode", "inputs": {"text": ["6", 0], "clip": ["9", 1]}},
         "8": {"class_type": "PrimitiveInt", "inputs": {"value": 12}},
         "11": {"class_type": "Seed Everywhere", "inputs": {"seed": 99}},
         "12": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["7", 0]}},
         "10": {"class_type": "KSampler", "inputs": {"positive": ["7", 0], "negative": ["12", 0], "steps": ["8", 0], "seed": ["11", 0]}}}
        """))
        XCTAssertEqual(m.prompt, "a red fox, in snow")
        XCTAssertNil(m.negativePrompt, "a zeroed-out conditioning has no text")
        XCTAssertEqual(m.steps, 12)
        XCTAssertEqual(m.seed, 99)

        // The selected branch ends at a runtime-only generator: fall back to the other branch.
        let t = try XCTUnwrap(graph("""
        {"1": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "user text"}},
         "4": {"class_type": "TextGenerate", "inputs": {"prompt": ["1", 0]}},
         "6": {"class_type": "ComfySwitchNode", "inputs": {"switch": true, "on_true": ["4", 0], "on_false": ["1", 0]}},
         "7": {"class_type": "CLIPTextEncode", "inputs": {"text": ["6", 0]}},
         "10": {"class_type": "KSampler", "inputs": {"positive": ["7", 0]}}}
        """))
        XCTAssertEqual(t.prompt, "user text")
    }

    func testConditioningChainsAndGuiders() throws {
        // Combine takes its first input that yields text; ControlNetApplyAdvanced forwards positive/negative;
        // SDXL encoders give both fields; SamplerCustomAdvanced goes through its guider.
        let m = try XCTUnwrap(graph("""
        {"20": {"class_type": "CLIPTextEncodeSDXL", "inputs": {"text_g": "castle on a hill", "text_l": "oil painting", "width": 1024}},
         "21": {"class_type": "CLIPTextEncode", "inputs": {"text": "a knight, in the left half"}},
         "22": {"class_type": "ConditioningSetArea", "inputs": {"conditioning": ["21", 0], "x": 0}},
         "23": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["25", 0], "conditioning_2": ["22", 0]}},
         "25": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["20", 0], "guidance": 3.5}},
         "26": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly"}},
         "30": {"class_type": "ControlNetApplyAdvanced", "inputs": {"positive": ["23", 0], "negative": ["26", 0], "strength": 0.5}},
         "31": {"class_type": "CFGGuider", "inputs": {"positive": ["30", 0], "negative": ["30", 1], "cfg": 4.5, "model": ["40", 0]}},
         "32": {"class_type": "RandomNoise", "inputs": {"noise_seed": 7}},
         "33": {"class_type": "BasicScheduler", "inputs": {"steps": 28, "scheduler": "simple"}},
         "34": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "dpmpp_2m"}},
         "40": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux.safetensors"}},
         "35": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["32", 0], "guider": ["31", 0], "sampler": ["34", 0], "sigmas": ["33", 0]}}}
        """))
        XCTAssertEqual(m.prompt, "castle on a hill\noil painting")
        XCTAssertEqual(m.negativePrompt, "ugly")
        XCTAssertEqual(m.seed, 7); XCTAssertEqual(m.steps, 28); XCTAssertEqual(m.cfgScale, 4.5)
        XCTAssertEqual(m.sampler, "dpmpp_2m"); XCTAssertEqual(m.model, "flux.safetensors")
    }

    func testFirstSamplerInDocumentOrderIsTheBasePass() throws {
        let m = try XCTUnwrap(graph("""
        {"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "base prompt"}},
         "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "refiner prompt"}},
         "9": {"class_type": "KSampler", "inputs": {"positive": ["1", 0], "steps": 20}},
         "3": {"class_type": "KSampler", "inputs": {"positive": ["2", 0], "steps": 8}}}
        """))
        XCTAssertEqual(m.prompt, "base prompt")
        XCTAssertEqual(m.steps, 20)
    }

    func testCyclesDoNotHang() throws {
        // A conditioning cycle, a text cycle, a self-link and a dangling link.
        let m = try graph("""
        {"1": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["1", 0]}},
         "2": {"class_type": "ConditioningConcat", "inputs": {"conditioning_to": ["1", 0], "conditioning_from": ["404", 0]}},
         "3": {"class_type": "StringConcatenate", "inputs": {"string_a": ["4", 0], "string_b": ["3", 0]}},
         "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}},
         "5": {"class_type": "CLIPTextEncode", "inputs": {"text": ["4", 0]}},
         "6": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["1", 0], "conditioning_2": ["5", 0]}},
         "7": {"class_type": "KSampler", "inputs": {"positive": ["6", 0], "negative": ["7", 0], "model": ["7", 0], "latent_image": ["7", 0]}}}
        """)
        XCTAssertNil(m?.prompt)

        // A layered graph where every node links twice to the next layer: 2^60 paths, linear work.
        var nodes = [#""0": {"class_type": "CLIPTextEncode", "inputs": {"text": ""}}"#]
        for i in 1...60 {
            nodes.append(#""\#(i)": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["\#(i - 1)", 0], "conditioning_2": ["\#(i - 1)", 0]}}"#)
        }
        nodes.append(#""s": {"class_type": "KSampler", "inputs": {"positive": ["60", 0]}}"#)
        let start = Date()
        _ = try graph("{" + nodes.joined(separator: ",") + "}")
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testGraphsWithoutSamplers() throws {
        XCTAssertNil(ComfyGraph(try XCTUnwrap(JSONParser.object(#"{"a": 1, "b": {"inputs": {}}}"#))))
        let m = try XCTUnwrap(graph("""
        {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "bad"}, "_meta": {"title": "Negative"}},
         "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "good"}, "_meta": {"title": "Positive"}}}
        """))
        XCTAssertEqual(m.prompt, "good")
        XCTAssertNil(try graph(#"{"1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}}}"#))
    }

    func testUIWorkflowFallback() throws {
        let json = """
        {"last_node_id": 9, "nodes": [
          {"id": 3, "type": "KSampler", "mode": 0, "order": 5, "inputs": [{"name": "model", "type": "MODEL", "link": 1},
            {"name": "positive", "type": "CONDITIONING", "link": 4}, {"name": "negative", "type": "CONDITIONING", "link": 6}],
            "widgets_values": [156680208700286, "randomize", 20, 8, "euler", "normal", 1]},
          {"id": 6, "type": "CLIPTextEncode", "mode": 0, "order": 3, "inputs": [{"name": "clip", "type": "CLIP", "link": 3},
            {"name": "text", "type": "STRING", "link": 9, "widget": {"name": "text"}}], "widgets_values": ["stale"]},
          {"id": 7, "type": "CLIPTextEncode", "mode": 0, "inputs": [], "widgets_values": ["text, watermark"]},
          {"id": 8, "type": "PrimitiveNode", "mode": 0, "inputs": [], "widgets_values": ["beautiful scenery"]},
          {"id": 9, "type": "KSampler", "mode": 4, "inputs": [{"name": "positive", "type": "CONDITIONING", "link": 6}],
            "widgets_values": [1, "fixed", 1, 1, "x", "y", 1]}],
         "links": [[4, 6, 0, 3, 1, "CONDITIONING"], [6, 7, 0, 3, 2, "CONDITIONING"], [9, 8, 0, 6, 1, "STRING"],
                   {"id": 12, "origin_id": 3, "origin_slot": 0, "target_id": 6, "target_slot": 0, "type": "LATENT"}]}
        """
        let o = try XCTUnwrap(JSONParser.object(json))
        let m = try XCTUnwrap(ComfyWorkflow(o)?.metadata(raw: json))
        XCTAssertEqual(m.prompt, "beautiful scenery")
        XCTAssertEqual(m.negativePrompt, "text, watermark")
        XCTAssertEqual(m.seed, 156_680_208_700_286); XCTAssertEqual(m.steps, 20); XCTAssertEqual(m.cfgScale, 8); XCTAssertEqual(m.sampler, "euler")

        // Through the reader: a PNG with only a workflow chunk.
        let png = MetadataFileBuilder.png([MetadataFileBuilder.tEXt("workflow", json)])
        XCTAssertEqual(MetadataFixtures.read(bytes: png).metadata?.prompt, "beautiful scenery")
        // A workflow whose links loop.
        let loop = #"{"nodes": [{"id": 1, "type": "KSampler", "inputs": [{"name": "positive", "type": "CONDITIONING", "link": 1}]}, {"id": 2, "type": "ConditioningCombine", "inputs": [{"name": "c", "type": "CONDITIONING", "link": 2}]}], "links": [[1, 2, 0, 1, 1, "CONDITIONING"], [2, 2, 0, 2, 0, "CONDITIONING"]]}"#
        XCTAssertNil(ComfyWorkflow(try XCTUnwrap(JSONParser.object(loop)))?.metadata(raw: loop))
    }
}
