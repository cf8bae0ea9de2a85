import RevsdProtocol

/// `/` and `/grid`: the filters form, then the grid of a library page or
/// of search results, then the page links. `/grid` is the `#results`
/// fragment alone (what the search box fetches as you type).
enum LibraryPage {
    static func page(_ query: LibraryQuery, results: HTML) -> HTML {
        Layout.page(title: query.q.map { "Search: \($0)" } ?? "Library", kind: "library", query: query.q ?? "", body: """
            \(filters(query))
            <div id="results">\(results)</div>
            """)
    }

    /// The filters, a GET form (it carries the search text too, so filtering
    /// keeps it), folded under "Filters" (so a phone shows the grid first)
    /// and unfolded while one is set.
    static func filters(_ q: LibraryQuery) -> HTML {
        func option(_ value: String, _ label: String, _ selected: String?) -> HTML {
            value == (selected ?? "") ? "<option value=\"\(value)\" selected>\(label)</option>" : "<option value=\"\(value)\">\(label)</option>"
        }
        let tiers: [HTML] = [option("", "any tier", q.tier?.rawValue)] + Tier.allCases.map { option($0.rawValue, $0.rawValue, q.tier?.rawValue) }
        let set = [q.folder, q.hasPromptText, q.model, q.sampler, q.sinceText, q.untilText, q.tier?.rawValue].contains { !($0 ?? "").isEmpty }
        let open: HTML = set ? " open" : ""
        return """
            <details class="filter-box"\(open)><summary>Filters</summary>
            <form class="filters" id="filters" action="/" method="get">
            <input type="hidden" name="q" value="\(q.q ?? "")">
            <label>Folder <input type="text" name="folder" value="\(q.folder ?? "")" placeholder="/path/to/folder"></label>
            <label>Prompt <select name="has_prompt">\(option("", "any", q.hasPromptText))\(option("yes", "has a prompt", q.hasPromptText))\(option("no", "no prompt", q.hasPromptText))</select></label>
            <label>Model <input type="text" name="model" value="\(q.model ?? "")"></label>
            <label>Sampler <input type="text" name="sampler" value="\(q.sampler ?? "")"></label>
            <label>From <input type="date" name="since" value="\(q.sinceText ?? "")"></label>
            <label>To <input type="date" name="until" value="\(q.untilText ?? "")"></label>
            <label>Tier <select name="tier">\(tiers)</select></label>
            <button type="submit">Filter</button> <a href="/">Clear</a>
            </form></details>
            """
    }

    /// A library page: newest first.
    static func libraryResults(_ r: ImagesResult, query: LibraryQuery) -> HTML {
        let first = r.offset + 1, last = r.offset + r.images.count
        let summary: HTML = r.images.isEmpty ? "<p class=\"summary\">No images here.</p>"
            : "<p class=\"summary\">Images \(first)–\(last) of \(r.total), newest first.</p>"
        return """
            \(summary)<section class="grid" id="grid">\(r.images.map(card))</section>
            \(pager(query, hasNext: last < r.total))
            """
    }

    /// Search results, best first, this page's slice of them.
    static func searchResults(_ r: SearchResult, query: LibraryQuery) -> HTML {
        let start = (query.page - 1) * LibraryQuery.pageSize
        let hits = Array(r.results.dropFirst(start).prefix(LibraryQuery.pageSize))
        let more = r.results.count > start + hits.count
            || (r.results.count == query.searchRequest.k && query.searchRequest.k < LibraryQuery.maxSearchResults)
        let summary: HTML = hits.isEmpty ? "<p class=\"summary\">Nothing matches “\(query.q ?? "")”.</p>"
            : "<p class=\"summary\">Results \(start + 1)–\(start + hits.count) for “\(query.q ?? "")”, best first.</p>"
        return """
            \(summary)<section class="grid" id="grid">\(hits.map(card))</section>
            \(pager(query, hasNext: more))
            """
    }

    /// Links to the neighbouring pages (newer/older in the library, better/more in a search).
    static func pager(_ q: LibraryQuery, hasNext: Bool) -> HTML {
        guard q.page > 1 || hasNext else { return .empty }
        let (back, forward) = q.q == nil ? ("← Newer", "Older →") : ("← Better", "More →")
        let prev: HTML = q.page > 1 ? "<a rel=\"prev\" href=\"\(q.link(page: q.page - 1))\">\(back)</a>" : ""
        let next: HTML = hasNext ? "<a rel=\"next\" class=\"next-page\" href=\"\(q.link(page: q.page + 1))\">\(forward)</a>" : ""
        return "<nav class=\"pager\">\(prev) <span>page \(q.page)</span> \(next)</nav>"
    }

    static func fileName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }

    static func card(_ s: ImageSummary) -> HTML {
        let text: HTML
        if let p = s.prompt { text = "\(p)" } else if let c = s.caption { text = "<span class=\"predicted\">predicted:</span> \(c)" } else { text = "\(fileName(s.path))" }
        let tier: HTML = s.tier.map { "<span class=\"badge tier\">\($0.rawValue)</span>" } ?? ""
        return """
            <figure class="card"><a href="/image/\(s.imageID)"><img src="/thumb/\(s.imageID)" loading="lazy" alt="\(s.prompt ?? s.caption ?? fileName(s.path))"></a>
            <figcaption>\(text) \(tier)</figcaption></figure>
            """
    }

    static func card(_ h: SearchHit) -> HTML {
        let alt = h.prompt ?? h.caption ?? fileName(h.path)
        let picture: HTML = h.imageID.map { "<a href=\"/image/\($0)\"><img src=\"/thumb/\($0)\" loading=\"lazy\" alt=\"\(alt)\"></a>" }
            ?? "<div class=\"noimage\">\(fileName(h.path))</div>"
        var badges: [HTML] = []
        if let score = h.score { badges.append("<span class=\"score\" title=\"score\">\(score, digits: 3)</span>") }
        switch h.match {
        case .prompt?: badges.append("<span class=\"badge prompt\" title=\"the file's own prompt matched\">prompt</span>")
        case .predicted?:
            let conf: HTML = h.confidence.map { " \($0, digits: 2)" } ?? ""
            badges.append("<span class=\"badge predicted\" title=\"matched by its predicted prompt (confidence)\">predicted\(conf)</span>")
        case nil: break
        }
        if !h.variations.isEmpty {
            badges.append("<span class=\"badge variations\" title=\"other images of the same prompt\">+\(h.variations.count) variation\(h.variations.count == 1 ? "" : "s")</span>")
        }
        let text: HTML = h.prompt.map { "\($0)" } ?? h.caption.map { "<span class=\"predicted\">predicted:</span> \($0)" } ?? "\(fileName(h.path))"
        return """
            <figure class="card">\(picture)
            <figcaption><span class="badges">\(badges.joined(separator: " "))</span> \(text)</figcaption></figure>
            """
    }
}
