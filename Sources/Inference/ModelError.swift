import Foundation

/// Everything that can be wrong with a model on disk: its files, their format,
/// the tensors in them and the configuration that describes them.
///
/// Each case names the file and says what is wrong in one line, so a user who
/// points revsd at a broken folder knows what to fix.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call on a model file failed.
    case io(path: String, operation: String, errno: Int32)
    /// A file exists but cannot be used (empty, not a regular file).
    case invalidFile(path: String, reason: String)
    /// A file the model needs is not there.
    case missingFile(path: String, what: String)
    /// The safetensors container is malformed.
    case invalidSafeTensors(path: String, reason: String)
    /// A tensor the architecture needs is absent from the checkpoint.
    case missingTensor(path: String, name: String)
    /// A tensor has another shape than the configuration implies.
    case shapeMismatch(path: String, name: String, expected: [Int], actual: [Int])
    /// A tensor is stored in a type revsd cannot compute with.
    case unsupportedDType(path: String, name: String, dtype: String)
    /// A configuration file is missing a field or holds an impossible value.
    case invalidConfig(path: String, reason: String)
    /// A tokenizer vocabulary is unusable.
    case invalidVocabulary(path: String, reason: String)
    /// A downloaded or installed file is not the one that was pinned.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// An archive (a Python wheel) is malformed.
    case invalidArchive(path: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, operation, code):
            return "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case let .invalidFile(path, reason):
            return "\(path): \(reason)"
        case let .missingFile(path, what):
            return "\(path): missing \(what)"
        case let .invalidSafeTensors(path, reason):
            return "\(path): not a valid safetensors file: \(reason)"
        case let .missingTensor(path, name):
            return "\(path): tensor '\(name)' is missing"
        case let .shapeMismatch(path, name, expected, actual):
            return "\(path): tensor '\(name)' has shape \(actual), expected \(expected)"
        case let .unsupportedDType(path, name, dtype):
            return "\(path): tensor '\(name)' has dtype \(dtype); only F32, F16 and BF16 are supported"
        case let .invalidConfig(path, reason):
            return "\(path): invalid configuration: \(reason)"
        case let .invalidVocabulary(path, reason):
            return "\(path): invalid vocabulary: \(reason)"
        case let .checksumMismatch(path, expected, actual):
            return "\(path): sha256 is \(actual), expected \(expected) (corrupt or partial file)"
        case let .invalidArchive(path, reason):
            return "\(path): invalid archive: \(reason)"
        }
    }
}
