import RevsdProtocol

/// What the library's GET form asks: a search (`q`) or a page of the
/// library, and the filters, as typed values; the form's own text is kept
/// to show it again.
struct LibraryQuery: Sendable, Equatable {
    static let pageSize = 60
    /// `search` answers at most this many results.
    static let maxSearchResults = 1000

    var q: String?
    var page = 1
    var folder: String?
    var model: String?
    var sampler: String?
    /// "yes", "no" or nil.
    var hasPromptText: String?
    var sinceText: String?
    var untilText: String?
    var tier: Tier?

    var hasPrompt: Bool? { hasPromptText.map { $0 == "yes" } }
    /// Midnight UTC of the first day.
    var since: Double? { sinceText.flatMap(Self.epochSeconds) }
    /// The end of the last day (UTC).
    var until: Double? { untilText.flatMap(Self.epochSeconds).map { $0 + 86_400 - 0.001 } }

    static func parse(_ f: FormFields) throws(PageError) -> LibraryQuery {
        var r = LibraryQuery()
        r.q = f.nonEmpty("q")
        if let p = f.nonEmpty("page") {
            guard let n = Int(p), (1...1_000_000).contains(n) else { throw PageError(.badRequest, "Bad request", "page must be a number of at least 1 (got '\(p)')") }
            r.page = n
        }
        r.folder = f.nonEmpty("folder")
        r.model = f.nonEmpty("model")
        r.sampler = f.nonEmpty("sampler")
        if let h = f.nonEmpty("has_prompt") {
            guard h == "yes" || h == "no" else { throw PageError(.badRequest, "Bad request", "has_prompt must be yes or no (got '\(h)')") }
            r.hasPromptText = h
        }
        for key in ["since", "until"] {
            guard let d = f.nonEmpty(key) else { continue }
            guard epochSeconds(d) != nil else { throw PageError(.badRequest, "Bad request", "\(key) must be a date YYYY-MM-DD (got '\(d)')") }
            if key == "since" { r.sinceText = d } else { r.untilText = d }
        }
        if let t = f.nonEmpty("tier") {
            guard let tier = Tier(rawValue: t) else { throw PageError(.badRequest, "Bad request", "tier must be easy, medium or hard (got '\(t)')") }
            r.tier = tier
        }
        return r
    }

    var imagesRequest: ImagesRequest {
        ImagesRequest(limit: Self.pageSize, offset: (page - 1) * Self.pageSize, folder: folder, hasPrompt: hasPrompt, model: model,
                      sampler: sampler, since: since, until: until, tier: tier)
    }

    /// Enough results for this page (search has no offset), at most 1000.
    var searchRequest: SearchRequest {
        SearchRequest(query: q, k: min(Self.maxSearchResults, page * Self.pageSize), folder: folder, hasPrompt: hasPrompt, since: since,
                      until: until, model: model, tier: tier)
    }

    /// The query string of this query at `page` (page 1 left out).
    func queryString(page: Int? = nil) -> String {
        let p = page ?? self.page
        return FormFields.query([("q", q), ("folder", folder), ("has_prompt", hasPromptText), ("model", model), ("sampler", sampler),
                                 ("since", sinceText), ("until", untilText), ("tier", tier?.rawValue), ("page", p > 1 ? String(p) : nil)])
    }

    func link(page: Int) -> String {
        let s = queryString(page: page)
        return s.isEmpty ? "/" : "/?" + s
    }

    /// Seconds since the epoch of midnight UTC of `YYYY-MM-DD`, or nil.
    static func epochSeconds(_ text: String) -> Double? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m), (1...31).contains(d), y >= 1970
        else { return nil }
        let days = daysFromCivil(y, m, d)
        guard daysFromCivil(y, m, 1) + d - 1 == days, d <= daysInMonth(y, m) else { return nil }
        return Double(days) * 86_400
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        let next = m == 12 ? daysFromCivil(y + 1, 1, 1) : daysFromCivil(y, m + 1, 1)
        return next - daysFromCivil(y, m, 1)
    }
}
