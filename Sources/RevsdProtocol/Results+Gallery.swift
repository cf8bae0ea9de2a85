/// The results of the gallery's requests (`images`, `image`, `image_file`).

/// One image of a library page.
public struct ImageSummary: Codable, Sendable, Equatable {
    public var imageID: Int64
    public var path: String
    /// File mtime, seconds since the epoch.
    public var mtime: Double
    public var width: Int?
    public var height: Int?
    /// The prompt the file carries (null when none).
    public var prompt: String?
    /// The predicted caption (null before any prediction).
    public var caption: String?
    public var model: String?
    public var sampler: String?
    public var alignment: Double?
    public var tier: Tier?

    public init(imageID: Int64, path: String, mtime: Double, width: Int?, height: Int?, prompt: String?, caption: String?,
                model: String?, sampler: String?, alignment: Double?, tier: Tier?) {
        self.imageID = imageID; self.path = path; self.mtime = mtime; self.width = width; self.height = height
        self.prompt = prompt; self.caption = caption; self.model = model; self.sampler = sampler
        self.alignment = alignment; self.tier = tier
    }

    enum CodingKeys: String, CodingKey {
        case path, mtime, width, height, prompt, caption, model, sampler, alignment, tier
        case imageID = "image_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(imageID, forKey: .imageID)
        try c.encode(path, forKey: .path)
        try c.encode(mtime, forKey: .mtime)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(caption, forKey: .caption)
        try c.encode(model, forKey: .model)
        try c.encode(sampler, forKey: .sampler)
        try c.encode(alignment, forKey: .alignment)
        try c.encode(tier, forKey: .tier)
    }
}

/// `images`: how many images match the filters in all, and one page of them.
public struct ImagesResult: ControlResult {
    public var total: Int
    public var offset: Int
    public var images: [ImageSummary]

    public init(total: Int, offset: Int, images: [ImageSummary]) { self.total = total; self.offset = offset; self.images = images }
}

/// `image`: one indexed image: its file, what it carries, and what revsd
/// says about it (`analysis`: the object `caption` answers for its file,
/// from the index), with its neighbours in the library's order.
public struct ImageResult: ControlResult {
    public var imageID: Int64
    public var path: String
    /// Other indexed paths of the same content.
    public var paths: [String]
    public var contentHash: String?
    public var size: Int
    /// File mtime, seconds since the epoch.
    public var mtime: Double
    public var format: String?
    public var width: Int?
    public var height: Int?
    public var analysis: CaptionResult
    /// The next newer and next older image of the library (newest first), null at either end.
    public var newer: Int64?
    public var older: Int64?

    public init(imageID: Int64, path: String, paths: [String], contentHash: String?, size: Int, mtime: Double, format: String?,
                width: Int?, height: Int?, analysis: CaptionResult, newer: Int64?, older: Int64?) {
        self.imageID = imageID; self.path = path; self.paths = paths; self.contentHash = contentHash; self.size = size
        self.mtime = mtime; self.format = format; self.width = width; self.height = height; self.analysis = analysis
        self.newer = newer; self.older = older
    }

    enum CodingKeys: String, CodingKey {
        case path, paths, size, mtime, format, width, height, analysis, newer, older
        case imageID = "image_id", contentHash = "content_hash"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(imageID, forKey: .imageID)
        try c.encode(path, forKey: .path)
        try c.encode(paths, forKey: .paths)
        try c.encode(contentHash, forKey: .contentHash)
        try c.encode(size, forKey: .size)
        try c.encode(mtime, forKey: .mtime)
        try c.encode(format, forKey: .format)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(analysis, forKey: .analysis)
        try c.encode(newer, forKey: .newer)
        try c.encode(older, forKey: .older)
    }
}

/// `image_file`: what the descriptor passed with this answer holds.
public struct ImageFileResult: ControlResult {
    public var imageID: Int64
    public var kind: ImageFileKind
    /// `image/png`, `image/jpeg`, `image/webp`.
    public var mediaType: String
    /// Bytes in the file when it was opened.
    public var size: Int
    /// A strong validator for HTTP caching: changes whenever the bytes may.
    public var etag: String

    public init(imageID: Int64, kind: ImageFileKind, mediaType: String, size: Int, etag: String) {
        self.imageID = imageID; self.kind = kind; self.mediaType = mediaType; self.size = size; self.etag = etag
    }

    enum CodingKeys: String, CodingKey {
        case kind, size, etag
        case imageID = "image_id", mediaType = "media_type"
    }
}
