/// The kinds of head the ensemble is made of (the paper's Table 1 rows).
public enum HeadKind: String, Sendable, Codable, CaseIterable, Comparable {
    case ridge, mlp, knn, dakl

    public static func < (a: HeadKind, b: HeadKind) -> Bool { a.rawValue < b.rawValue }
}

/// How a head was trained, named as in the paper's tables. The MLP heads
/// come in the first three; k-NN and DAKL are techniques of their own.
public enum Technique: String, Sendable, Codable, CaseIterable, Comparable {
    case vanilla
    case mlc = "+MLC"
    case curriculum = "+MLC+CL"
    case knn = "k-NN"
    case dakl = "+DAKL"

    /// The MLP head's variants, in training order.
    public static let mlp: [Technique] = [.vanilla, .mlc, .curriculum]

    public static func < (a: Technique, b: Technique) -> Bool { a.rawValue < b.rawValue }
}

/// One member of the ensemble: a head of one encoder, the zero-shot
/// prediction (what revsd says without learning, computed from the image's
/// features at analysis), or DAKL over the base ensemble. Its `name`
/// ("efficientnet-lite0/ridge", "zero-shot", "dakl") is what reports and
/// `status` show.
public enum EnsembleMember: Hashable, Sendable, CustomStringConvertible {
    case head(encoder: String, HeadKind)
    case zeroShot
    case dakl

    public var name: String {
        switch self {
        case let .head(encoder, kind): return "\(encoder)/\(kind.rawValue)"
        case .zeroShot: return "zero-shot"
        case .dakl: return "dakl"
        }
    }

    public var description: String { name }

    /// The three base members of an encoder, in ensemble order.
    public static func base(_ encoder: String) -> [EnsembleMember] {
        [.head(encoder: encoder, .ridge), .head(encoder: encoder, .mlp), .head(encoder: encoder, .knn)]
    }
}

/// One scored variant of a head: which encoder, which head, which
/// technique (a row of `eval` and of the training report).
public struct HeadVariant: Hashable, Sendable, Comparable {
    public var encoder: String
    public var head: HeadKind
    public var technique: Technique

    public init(encoder: String, head: HeadKind, technique: Technique) {
        self.encoder = encoder; self.head = head; self.technique = technique
    }

    /// DAKL scores the ensemble, not one encoder.
    public static let dakl = HeadVariant(encoder: "ensemble", head: .dakl, technique: .dakl)

    public static func < (a: HeadVariant, b: HeadVariant) -> Bool {
        (a.encoder, a.head.rawValue, a.technique.rawValue) < (b.encoder, b.head.rawValue, b.technique.rawValue)
    }
}

/// The curriculum tier of a labelled image: its difficulty score against
/// the training examples' terciles.
public enum Tier: String, Sendable, Codable, CaseIterable {
    case easy, medium, hard
}
