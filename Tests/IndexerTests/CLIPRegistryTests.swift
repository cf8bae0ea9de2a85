import Foundation
import Inference
import XCTest
@testable import Models
@testable import RevsdSystem

/// `revsdctl models add clip PATH`: the folder is loaded before it is
/// registered; registered.json is written atomically; `models list` shows
/// source, size and checksum.
final class CLIPRegistryTests: XCTestCase {
    let dir = TemporaryDirectory()
    var store: ModelStore { ModelStore(root: dir.url.appendingPathComponent("models")) }

    func testAFolderIsRegisteredListedAndRemoved() throws {
        let registry = ModelRegistry(store: store)
        XCTAssertEqual(try registry.load(), [])
        let folder = CLIPGoldenTests.folder("clip-tiny-b32")
        let m = try registry.addCLIP(folder: folder, name: "tiny-b32", now: Date(timeIntervalSince1970: 0))
        XCTAssertEqual(m.towers, ["vision", "text"])
        XCTAssertEqual(m.files.count, 1)
        let weights = folder.appendingPathComponent("model.safetensors").path
        XCTAssertEqual(m.files[0].path, weights)
        XCTAssertEqual(m.size, Syscalls.fileSize(weights))
        XCTAssertEqual(m.sha256, try SHA256.hex(ofFile: weights))
        XCTAssertEqual(m.added, "1970-01-01T00:00:00Z")
        XCTAssertEqual(try registry.load(), [m])
        XCTAssertEqual(ModelRegistry.verify(m), [])
        // Separate towers, registered together.
        let split = try registry.addCLIP(folder: CLIPGoldenTests.folder("clip-tiny-b32-vision"), textFolder: CLIPGoldenTests.folder("clip-tiny-b32-text"))
        XCTAssertEqual(split.name, "clip-tiny-b32-vision")
        XCTAssertEqual(split.files.count, 2)
        XCTAssertNotNil(try registry.clipEncoder(split).model.tokenizer)
        XCTAssertThrowsError(try registry.addCLIP(folder: folder, name: "TINY-b32")) { error in
            XCTAssertEqual(error as? ModelRegistryError, .duplicateName(name: "TINY-b32", path: folder.path))
        }
        XCTAssertThrowsError(try registry.addCLIP(folder: folder, name: "all-MiniLM-L6-v2"))
        XCTAssertThrowsError(try registry.addCLIP(folder: folder, name: "../x"))
        try registry.remove(named: "tiny-b32")
        XCTAssertEqual(try registry.load().map(\.name), ["clip-tiny-b32-vision"])
        XCTAssertThrowsError(try registry.remove(named: "tiny-b32"))
        // No temporary files are left behind.
        let files = try FileManager.default.contentsOfDirectory(atPath: store.root.path).sorted()
        XCTAssertEqual(files, ["registered.json", "registered.json.lock"])
    }

    func testABrokenFolderIsNotRegistered() throws {
        let registry = ModelRegistry(store: store)
        let broken = dir.url.appendingPathComponent("broken")
        try FileManager.default.copyItem(at: CLIPGoldenTests.folder("clip-tiny-b32"), to: broken)
        try FileManager.default.removeItem(at: broken.appendingPathComponent("merges.txt"))
        XCTAssertThrowsError(try registry.addCLIP(folder: broken)) { error in
            XCTAssertEqual("\(error)", "\(broken.path)/merges.txt: missing CLIP tokenizer merge rules (vocab.json and merges.txt are both needed)")
        }
        XCTAssertEqual(try registry.load(), [])
    }

    func testChangedWeightsAndABrokenRegistryAreReported() throws {
        let registry = ModelRegistry(store: store)
        let copy = dir.url.appendingPathComponent("copy")
        try FileManager.default.copyItem(at: CLIPGoldenTests.folder("clip-tiny-h14"), to: copy)
        let m = try registry.addCLIP(folder: copy)
        let weights = copy.appendingPathComponent("model.safetensors")
        var data = try Data(contentsOf: weights)
        data[data.count - 1] ^= 1
        try data.write(to: weights)
        XCTAssertEqual(ModelRegistry.verify(m).count, 1)
        XCTAssert(ModelRegistry.verify(m)[0].contains("sha256"), ModelRegistry.verify(m)[0])
        try Data("{\"version\": 1, \"models\": [{\"name\": 3}]}".utf8).write(to: registry.url)
        XCTAssertThrowsError(try registry.load()) { error in
            XCTAssert("\(error)".hasPrefix(registry.url.path + ": not a registry of models"), "\(error)")
        }
    }

    func testTheCommandLineAddsAndListsACLIPFolder() throws {
        let models = dir.path("cli-models")
        let folder = CLIPGoldenTests.folder("clip-tiny-h14").path
        let add = try runProduct("revsdctl", ["models", "add", "clip", folder, "--name", "tiny-h14", "--models", models])
        XCTAssertEqual(add.status, 0, add.stderr)
        XCTAssert(add.stdout.hasPrefix("tiny-h14: registered \(folder) (CLIP vision+text, sha256 "), add.stdout)
        let list = try runProduct("revsdctl", ["models", "list", "--json", "--models", models])
        XCTAssertEqual(list.status, 0, list.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
        let row = try XCTUnwrap((obj["models"] as? [[String: Any]])?.first { $0["model"] as? String == "tiny-h14" })
        XCTAssertEqual(row["source"] as? String, "folder:\(folder)")
        XCTAssertEqual(row["sha256"] as? String, try SHA256.hex(ofFile: folder + "/model.safetensors"))
        XCTAssertEqual(row["size"] as? Int, Syscalls.fileSize(folder + "/model.safetensors"))
        XCTAssertEqual(row["registered"] as? Bool, true)
        let text = try runProduct("revsdctl", ["models", "list", "--models", models])
        XCTAssert(text.stdout.contains("SHA256"), text.stdout)
        XCTAssert(text.stdout.split(separator: "\n").contains { $0.hasPrefix("tiny-h14") && $0.contains("registered") && $0.contains("folder:") }, text.stdout)
        let again = try runProduct("revsdctl", ["models", "add", "clip", folder, "--name", "tiny-h14", "--models", models])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.stderr, "revsdctl: tiny-h14: already registered (\(folder)); choose another --name or `revsdctl models remove tiny-h14`\n")
        let bad = try runProduct("revsdctl", ["models", "add", "clip", dir.path("nowhere"), "--models", models])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr, "revsdctl: \(dir.path("nowhere"))/config.json: missing CLIP model configuration\n")
        let kind = try runProduct("revsdctl", ["models", "add", "bert", folder, "--models", models])
        XCTAssertEqual(kind.status, 64)
        let remove = try runProduct("revsdctl", ["models", "remove", "tiny-h14", "--models", models])
        XCTAssertEqual(remove.status, 0, remove.stderr)
    }
}
