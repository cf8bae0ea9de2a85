/// The requests a gallery (revsd-web) needs beyond search: the library as
/// pages, one image's details, and its file or thumbnail as a descriptor.
/// Images are named by their index id (`image_id`, an integer ≥ 1), never by
/// a path the client gives: the daemon opens the file it indexed.
/// (`id` stays the request's echo id of the framing.)

extension KeyedDecodingContainer {
    /// An image id: an integer of at least 1.
    func imageID(_ key: Key, of op: Operation) throws(ControlError) -> Int64 {
        let id: Int? = try field(key, must: "an integer of at least 1 (an image id)")
        guard let id else { throw ControlError(.badRequest, "'\(op.rawValue)' needs an \"\(key.stringValue)\" integer") }
        guard id >= 1 else { throw ControlError(.badRequest, "\"\(key.stringValue)\" must be an integer of at least 1 (got \(id))") }
        return Int64(id)
    }
}

/// `images`: a page of the indexed images, newest first (file mtime, then
/// id), within optional filters.
public struct ImagesRequest: ControlRequest {
    public typealias Result = ImagesResult
    public static var operation: Operation { .images }
    public var request: Request { .images(self) }

    public static let maxLimit = 500

    /// How many images, 1…500 (default 60).
    public var limit: Int
    /// How many of the newest to skip (default 0).
    public var offset: Int
    /// Only files under this folder.
    public var folder: String?
    public var hasPrompt: Bool?
    /// Checkpoint name prefix.
    public var model: String?
    /// Sampler name, exactly (case-insensitive).
    public var sampler: String?
    /// File mtime bounds, seconds since the epoch.
    public var since: Double?
    public var until: Double?
    public var tier: Tier?

    public init(limit: Int = 60, offset: Int = 0, folder: String? = nil, hasPrompt: Bool? = nil, model: String? = nil,
                sampler: String? = nil, since: Double? = nil, until: Double? = nil, tier: Tier? = nil) {
        self.limit = limit; self.offset = offset; self.folder = folder; self.hasPrompt = hasPrompt; self.model = model
        self.sampler = sampler; self.since = since; self.until = until; self.tier = tier
    }

    enum CodingKeys: String, CodingKey {
        case limit, offset, folder, model, sampler, since, until, tier
        case hasPrompt = "has_prompt"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        limit = try c.limit(.limit, max: Self.maxLimit, default: 60)
        offset = try c.offset(.offset)
        folder = try c.field(.folder)
        hasPrompt = try c.field(.hasPrompt)
        model = try c.field(.model)
        sampler = try c.field(.sampler)
        since = try c.field(.since, must: "a number (seconds since the epoch)")
        until = try c.field(.until, must: "a number (seconds since the epoch)")
        tier = try c.field(.tier)
    }
}

/// `image`: what the index holds about one image.
public struct ImageRequest: ControlRequest {
    public typealias Result = ImageResult
    public static var operation: Operation { .image }
    public var request: Request { .image(self) }

    public var imageID: Int64

    public init(imageID: Int64) { self.imageID = imageID }

    enum CodingKeys: String, CodingKey { case imageID = "image_id" }

    public init(from decoder: any Decoder) throws {
        imageID = try decoder.container(keyedBy: CodingKeys.self).imageID(.imageID, of: Self.operation)
    }
}

/// Which file of an image `image_file` passes back.
public enum ImageFileKind: String, Codable, Sendable, CaseIterable {
    /// The indexed file itself.
    case original
    /// Its thumbnail (WebP, about 320 px on the long side), made when missing.
    case thumbnail
}

extension ImageFileKind: RequestField {
    static var expected: String { "\"original\" or \"thumbnail\"" }
    static var noun: String { "kind" }
}

/// `image_file`: the image's file or thumbnail, opened read-only by the
/// daemon and passed back with the answer line as a descriptor
/// (SCM_RIGHTS); the result says its type and size.
public struct ImageFileRequest: ControlRequest {
    public typealias Result = ImageFileResult
    public static var operation: Operation { .imageFile }
    public var request: Request { .imageFile(self) }

    public var imageID: Int64
    public var kind: ImageFileKind

    public init(imageID: Int64, kind: ImageFileKind) { self.imageID = imageID; self.kind = kind }

    enum CodingKeys: String, CodingKey { case kind, imageID = "image_id" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageID = try c.imageID(.imageID, of: Self.operation)
        kind = try c.field(.kind) ?? .original
    }
}
