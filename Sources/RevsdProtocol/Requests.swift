/// The requests of the index half: status, search, similar, caption, the
/// watch list and reindex. Each decodes strictly (`RequestFields.swift`);
/// `init`s take what revsdctl sends.

/// `status`: no fields.
public struct StatusRequest: ControlRequest {
    public typealias Result = StatusResult
    public static var operation: Operation { .status }
    public var request: Request { .status(self) }
    public init() {}
}

/// `failed`: a page of the files recorded failed, most recent first.
public struct FailedRequest: ControlRequest {
    public typealias Result = FailedResult
    public static var operation: Operation { .failed }
    public var request: Request { .failed(self) }

    /// How many files, 1…1000 (default 100).
    public var limit: Int
    /// How many of the most recent to skip (default 0).
    public var offset: Int

    public init(limit: Int = 100, offset: Int = 0) { self.limit = limit; self.offset = offset }

    enum CodingKeys: String, CodingKey { case limit, offset }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        limit = try c.limit(.limit, default: 100)
        offset = try c.offset(.offset)
    }
}

/// `search`: a text query (or, with an alignment filter and no query, the
/// least aligned labelled images), `k` results, optional filters.
public struct SearchRequest: ControlRequest {
    public typealias Result = SearchResult
    public static var operation: Operation { .search }
    public var request: Request { .search(self) }

    public var query: String?
    /// How many results, 1…1000.
    public var k: Int
    /// Only files under this folder.
    public var folder: String?
    public var hasPrompt: Bool?
    /// File mtime bounds, seconds since the epoch.
    public var since: Double?
    public var until: Double?
    /// Checkpoint name prefix.
    public var model: String?
    /// Words the known prompt must contain (FTS5).
    public var text: String?
    /// Only labelled images whose alignment is at most this.
    public var maxAlignment: Double?
    public var tier: Tier?
    /// true: every image is its own result. Otherwise images of one prompt
    /// (seed variations) are one result, the others listed in `variations`.
    public var all: Bool?

    public init(query: String?, k: Int = 10, folder: String? = nil, hasPrompt: Bool? = nil, since: Double? = nil, until: Double? = nil,
                model: String? = nil, text: String? = nil, maxAlignment: Double? = nil, tier: Tier? = nil, all: Bool? = nil) {
        self.query = query; self.k = k; self.folder = folder; self.hasPrompt = hasPrompt; self.since = since; self.until = until
        self.model = model; self.text = text; self.maxAlignment = maxAlignment; self.tier = tier; self.all = all
    }

    /// Whether images of one prompt make one result.
    public var groupsVariations: Bool { all != true }

    /// No query and an alignment filter: list the least aligned images first.
    public var listsLeastAligned: Bool { (query ?? "").isEmpty && (maxAlignment != nil || tier != nil) }

    /// Whether any filter narrows the candidates.
    public var hasFilter: Bool {
        folder != nil || hasPrompt != nil || since != nil || until != nil || model != nil || text != nil || maxAlignment != nil || tier != nil
    }

    enum CodingKeys: String, CodingKey {
        case query, k, folder, since, until, model, text, tier, all
        case hasPrompt = "has_prompt", maxAlignment = "max_alignment"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        query = try c.field(.query)
        k = try c.limit(.k)
        folder = try c.field(.folder)
        hasPrompt = try c.field(.hasPrompt)
        since = try c.field(.since, must: "a number (seconds since the epoch)")
        until = try c.field(.until, must: "a number (seconds since the epoch)")
        model = try c.field(.model)
        text = try c.field(.text)
        maxAlignment = try c.field(.maxAlignment)
        tier = try c.field(.tier)
        all = try c.field(.all)
        if (query ?? "").isEmpty, !listsLeastAligned {
            throw ControlError(.badRequest, "'search' needs a \"query\" string (or \"max_alignment\" / \"tier\")")
        }
    }
}

/// `similar`: the images whose predicted prompt is closest to an indexed
/// one's, named by its path or by its image id (`image_id`, which wins).
public struct SimilarRequest: ControlRequest {
    public typealias Result = SimilarResult
    public static var operation: Operation { .similar }
    public var request: Request { .similar(self) }

    public var path: String?
    public var imageID: Int64?
    public var k: Int

    public init(path: String, k: Int = 10) { self.path = path; self.imageID = nil; self.k = k }
    public init(imageID: Int64, k: Int = 10) { self.path = nil; self.imageID = imageID; self.k = k }

    enum CodingKeys: String, CodingKey { case path, k, imageID = "image_id" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.imageID), try !c.decodeNil(forKey: .imageID) {
            imageID = try c.imageID(.imageID, of: Self.operation)
            path = try c.field(.path)
        } else {
            imageID = nil
            path = try c.required(.path, of: Self.operation) as String
        }
        k = try c.limit(.k)
    }
}

/// `caption`: the file travels as a descriptor (SCM_RIGHTS); `name` is how
/// answers and messages call it.
public struct CaptionRequest: ControlRequest {
    public typealias Result = CaptionResult
    public static var operation: Operation { .caption }
    public var request: Request { .caption(self) }

    public var name: String?
    /// Include the predicted embedding in the answer.
    public var embedding: Bool

    public init(name: String?, embedding: Bool = false) { self.name = name; self.embedding = embedding }

    enum CodingKeys: String, CodingKey { case name, embedding }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.field(.name)
        embedding = try c.field(.embedding) ?? false
    }
}

/// `watch_add`: an absolute folder to watch from now on.
public struct WatchAddRequest: ControlRequest {
    public typealias Result = WatchesResult
    public static var operation: Operation { .watchAdd }
    public var request: Request { .watchAdd(self) }

    public var path: String

    public init(path: String) { self.path = path }

    enum CodingKeys: String, CodingKey { case path }

    public init(from decoder: any Decoder) throws {
        path = try decoder.container(keyedBy: CodingKeys.self).required(.path, of: Self.operation)
    }
}

/// `watch_remove`: a watched folder to forget.
public struct WatchRemoveRequest: ControlRequest {
    public typealias Result = WatchesResult
    public static var operation: Operation { .watchRemove }
    public var request: Request { .watchRemove(self) }

    public var path: String

    public init(path: String) { self.path = path }

    enum CodingKeys: String, CodingKey { case path }

    public init(from decoder: any Decoder) throws {
        path = try decoder.container(keyedBy: CodingKeys.self).required(.path, of: Self.operation)
    }
}

/// `watch_list`: no fields.
public struct WatchListRequest: ControlRequest {
    public typealias Result = WatchesResult
    public static var operation: Operation { .watchList }
    public var request: Request { .watchList(self) }
    public init() {}
}

/// `reindex`: every watched file, or only those under `path`.
public struct ReindexRequest: ControlRequest {
    public typealias Result = ReindexResult
    public static var operation: Operation { .reindex }
    public var request: Request { .reindex(self) }

    public var path: String?

    public init(path: String? = nil) { self.path = path }

    enum CodingKeys: String, CodingKey { case path }

    public init(from decoder: any Decoder) throws {
        path = try decoder.container(keyedBy: CodingKeys.self).field(.path)
    }
}
