/// The operations of the control protocol (docs/PROTOCOL.md), as the
/// request's `"op"` names them.
public enum Operation: String, Codable, Sendable, CaseIterable {
    case status, search, similar, caption
    case watchAdd = "watch_add", watchRemove = "watch_remove", watchList = "watch_list"
    case reindex, train
    case promptsImport = "prompts_import"
    case evalAdd = "eval_add", evalRun = "eval_run"
    case failed
    case images, image
    case imageFile = "image_file"

    /// Operations that change the index: allowed to root and the daemon's user.
    public var isMutating: Bool {
        switch self {
        case .watchAdd, .watchRemove, .reindex, .train, .promptsImport: true
        case .status, .failed, .search, .similar, .caption, .watchList, .evalAdd, .evalRun, .images, .image, .imageFile: false
        }
    }
}

/// A curriculum tier of a labelled image (its alignment's tercile).
public enum Tier: String, Codable, Sendable, CaseIterable {
    case easy, medium, hard
}

/// One request type per operation, shared by both ends: its fields encode
/// beside `"op"`, and it names the result it is answered with.
public protocol ControlRequest: Codable, Sendable, Equatable {
    associatedtype Result: ControlResult
    static var operation: Operation { get }
    /// Wraps the request in `Request` (what the daemon switches over).
    var request: Request { get }
}

/// A result object (the `"result"` of a response line).
public protocol ControlResult: Codable, Sendable, Equatable {}

/// A decoded request of any operation.
public enum Request: Sendable, Equatable, Decodable {
    case status(StatusRequest)
    case failed(FailedRequest)
    case search(SearchRequest)
    case similar(SimilarRequest)
    case caption(CaptionRequest)
    case watchAdd(WatchAddRequest)
    case watchRemove(WatchRemoveRequest)
    case watchList(WatchListRequest)
    case reindex(ReindexRequest)
    case train(TrainRequest)
    case promptsImport(PromptsImportRequest)
    case evalAdd(EvalAddRequest)
    case evalRun(EvalRunRequest)
    case images(ImagesRequest)
    case image(ImageRequest)
    case imageFile(ImageFileRequest)

    public var operation: Operation {
        switch self {
        case .status: .status
        case .failed: .failed
        case .search: .search
        case .similar: .similar
        case .caption: .caption
        case .watchAdd: .watchAdd
        case .watchRemove: .watchRemove
        case .watchList: .watchList
        case .reindex: .reindex
        case .train: .train
        case .promptsImport: .promptsImport
        case .evalAdd: .evalAdd
        case .evalRun: .evalRun
        case .images: .images
        case .image: .image
        case .imageFile: .imageFile
        }
    }

    enum CodingKeys: String, CodingKey { case op }

    /// Reads `"op"`, then that operation's fields, strictly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name: String? = try c.field(.op)
        guard let name else { throw ControlError(.badRequest, "missing \"op\"") }
        guard let op = Operation(rawValue: name) else {
            throw ControlError(.unknownOperation, "unknown operation '\(name)' (\(Operation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        switch op {
        case .status: self = .status(try StatusRequest(from: decoder))
        case .failed: self = .failed(try FailedRequest(from: decoder))
        case .search: self = .search(try SearchRequest(from: decoder))
        case .similar: self = .similar(try SimilarRequest(from: decoder))
        case .caption: self = .caption(try CaptionRequest(from: decoder))
        case .watchAdd: self = .watchAdd(try WatchAddRequest(from: decoder))
        case .watchRemove: self = .watchRemove(try WatchRemoveRequest(from: decoder))
        case .watchList: self = .watchList(try WatchListRequest(from: decoder))
        case .reindex: self = .reindex(try ReindexRequest(from: decoder))
        case .train: self = .train(try TrainRequest(from: decoder))
        case .promptsImport: self = .promptsImport(try PromptsImportRequest(from: decoder))
        case .evalAdd: self = .evalAdd(try EvalAddRequest(from: decoder))
        case .evalRun: self = .evalRun(try EvalRunRequest(from: decoder))
        case .images: self = .images(try ImagesRequest(from: decoder))
        case .image: self = .image(try ImageRequest(from: decoder))
        case .imageFile: self = .imageFile(try ImageFileRequest(from: decoder))
        }
    }
}
