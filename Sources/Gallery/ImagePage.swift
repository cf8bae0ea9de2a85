import Foundation
import RevsdProtocol

/// `/image/ID`: the picture, what its file carries, what revsd predicts
/// for it, similar images, and the neighbours in the library's order.
enum ImagePage {
    /// `similar` is nil with the reason it could not be had (the page shows the rest).
    static func page(_ r: ImageResult, similar: Result<SimilarResult, PageError>) -> HTML {
        let a = r.analysis
        let meta = a.metadata
        let name = LibraryPage.fileName(r.path)
        let prompt: HTML = meta?.prompt.map { p in
            "<p class=\"prompt\" id=\"prompt\">\(p)</p><button type=\"button\" class=\"copy\" data-copy=\"\(p)\">Copy prompt</button>"
        } ?? "<p class=\"prompt none\">no prompt in this file</p>"
        let negative: HTML = meta?.negativePrompt.map { "<h3>Negative prompt</h3><p class=\"negative\">\($0)</p>" } ?? ""
        let newer: HTML = r.newer.map { "<a rel=\"prev\" id=\"newer\" href=\"/image/\($0)\">← Newer</a>" } ?? "<span class=\"end\">newest</span>"
        let older: HTML = r.older.map { "<a rel=\"next\" id=\"older\" href=\"/image/\($0)\">Older →</a>" } ?? "<span class=\"end\">oldest</span>"
        return Layout.page(title: name, kind: "image", body: """
            <nav class="neighbours">\(newer) <a href="/" id="back">Library</a> \(older)</nav>
            <div class="image-page">
            <figure class="original"><a href="/file/\(r.imageID)"><img src="/file/\(r.imageID)" alt="\(meta?.prompt ?? a.caption ?? name)"></a>
            <figcaption><code>\(r.path)</code></figcaption></figure>
            <section class="details">
            <h2>Prompt</h2>\(prompt)\(negative)
            \(parameters(r, meta))
            \(prediction(a))
            \(paths(r))
            </section></div>
            <section class="similar"><h2>Similar images</h2>\(similarGrid(similar, of: r.imageID))</section>
            """)
    }

    static func parameters(_ r: ImageResult, _ m: CaptionResult.FileMetadata?) -> HTML {
        var rows: [HTML] = []
        func row(_ k: String, _ v: String?) { if let v { rows.append("<tr><th>\(k)</th><td>\(v)</td></tr>") } }
        row("Steps", m?.steps.map(String.init))
        row("Sampler", m?.sampler)
        row("CFG scale", m?.cfgScale.map { HTML.format($0, digits: 1) })
        row("Seed", m?.seed.map(String.init))
        let w = m?.width ?? r.width, h = m?.height ?? r.height
        row("Size", w.flatMap { w in h.map { "\(w) × \($0)" } })
        row("Model", m?.model)
        row("Model hash", m?.modelHash)
        row("Made by", m?.source)
        row("Format", r.format)
        row("File size", "\(r.size) bytes")
        row("Modified", ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: r.mtime)))
        return "<h2>Parameters</h2><table class=\"parameters\">\(rows)</table>"
    }

    static func prediction(_ a: CaptionResult) -> HTML {
        var out: [HTML] = ["<h2>What revsd predicts</h2>"]
        if let c = a.caption {
            let how: HTML = a.prediction.map { "<span class=\"badge\">\($0.rawValue)</span>" } ?? ""
            let conf: HTML = a.confidence.map { " <span class=\"score\" title=\"confidence\">\($0, digits: 2)</span>" } ?? ""
            out.append("<p class=\"caption\">\(c) \(how)\(conf)</p>")
        } else {
            out.append("<p class=\"none\">No prediction yet.</p>")
        }
        if let z = a.zeroShotCaption { out.append("<p class=\"zero-shot\">Zero-shot: \(z)</p>") }
        if let cands = a.candidates, !cands.isEmpty {
            out.append("<h3>Candidates</h3><ol class=\"candidates\">\(cands.map { "<li>\($0.prompt) <span class=\"score\">\($0.cosine, digits: 3)</span></li>" as HTML })</ol>")
        }
        if !a.keywords.isEmpty {
            out.append("<h3>Keywords</h3><p class=\"keywords\">\(a.keywords.map { "<span class=\"keyword\">\($0)</span>" as HTML }.joined(separator: " "))</p>")
        }
        if let s = a.indexedScore {
            let alignment: HTML = s.alignment.map { "\($0, digits: 3)" } ?? "not scored yet"
            let tier: HTML = s.tier.map { "<span class=\"badge tier\">\($0.rawValue)</span>" } ?? ""
            out.append("<p class=\"alignment\">Alignment \(alignment) \(tier)</p>")
        }
        if let k = a.knownPromptCosine { out.append("<p class=\"known\">Cosine of the prediction to the file's prompt: \(k, digits: 3)</p>") }
        if let e = a.error { out.append("<p class=\"error\">\(e)</p>") }
        return "\(out)"
    }

    static func paths(_ r: ImageResult) -> HTML {
        let others = r.paths.filter { $0 != r.path }
        guard !others.isEmpty else { return .empty }
        return "<h3>Same content also at</h3><ul class=\"paths\">\(others.map { "<li><code>\($0)</code></li>" as HTML })</ul>"
    }

    static func similarGrid(_ s: Result<SimilarResult, PageError>, of id: Int64) -> HTML {
        switch s {
        case let .failure(e): return "<p class=\"none\">\(e.message)</p>"
        case let .success(r):
            let hits = r.results.filter { $0.imageID != id }
            guard !hits.isEmpty else { return "<p class=\"none\">No similar images.</p>" }
            return "<div class=\"grid\">\(hits.map(LibraryPage.card))</div>"
        }
    }
}
