/// The requests of the learning half: train, prompts_import, eval_add, eval_run.

/// `train`: start a run (or cancel the running one).
public struct TrainRequest: ControlRequest {
    public typealias Result = TrainResult
    public static var operation: Operation { .train }
    public var request: Request { .train(self) }

    public var cancel: Bool

    public init(cancel: Bool = false) { self.cancel = cancel }

    enum CodingKeys: String, CodingKey { case cancel }

    public init(from decoder: any Decoder) throws {
        cancel = try decoder.container(keyedBy: CodingKeys.self).field(.cancel) ?? false
    }
}

/// `prompts_import`: prompts read by the client from a corpus file.
public struct PromptsImportRequest: ControlRequest {
    public typealias Result = PromptsImportResult
    public static var operation: Operation { .promptsImport }
    public var request: Request { .promptsImport(self) }

    public static let maxPrompts = 10_000

    public var prompts: [String]
    /// A label for where they came from (the corpus file's name).
    public var source: String?

    public init(prompts: [String], source: String? = nil) { self.prompts = prompts; self.source = source }

    enum CodingKeys: String, CodingKey { case prompts, source }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompts = try c.required(.prompts, of: Self.operation)
        guard prompts.count <= Self.maxPrompts else {
            throw ControlError(.badRequest, "\"prompts\" holds at most \(Self.maxPrompts) strings per request (got \(prompts.count))")
        }
        source = try c.field(.source)
    }
}

/// `eval_add`: one evaluation image (its descriptor rides along) under a
/// client-chosen session, with its true prompt when the client knows it.
public struct EvalAddRequest: ControlRequest {
    public typealias Result = EvalAddResult
    public static var operation: Operation { .evalAdd }
    public var request: Request { .evalAdd(self) }

    public static let maxSessionLength = 128

    public var session: String
    public var name: String?
    public var prompt: String?

    public init(session: String, name: String?, prompt: String? = nil) { self.session = session; self.name = name; self.prompt = prompt }

    enum CodingKeys: String, CodingKey { case session, name, prompt }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        session = try c.required(.session, of: Self.operation)
        guard session.count <= Self.maxSessionLength else {
            throw ControlError(.badRequest, "\"session\" must be at most \(Self.maxSessionLength) characters")
        }
        name = try c.field(.name)
        prompt = try c.field(.prompt)
    }
}

/// `eval_run`: score the images collected under `session`.
public struct EvalRunRequest: ControlRequest {
    public typealias Result = EvalRunResult
    public static var operation: Operation { .evalRun }
    public var request: Request { .evalRun(self) }

    public var session: String
    /// Add each image's caption and true prompt to the answer.
    public var captions: Bool

    public init(session: String, captions: Bool = false) { self.session = session; self.captions = captions }

    enum CodingKeys: String, CodingKey { case session, captions }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        session = try c.required(.session, of: Self.operation)
        captions = try c.field(.captions) ?? false
    }
}
