import Foundation
import RevsdProtocol

/// `/status`: indexing and learning progress, failed files, watched
/// folders, and the Train button (a POST form with the CSRF token).
enum StatusPage {
    static func page(_ s: StatusResult, failed: Result<FailedResult, PageError>, csrf: String, notice: String?) -> HTML {
        let note: HTML = notice.map { "<p class=\"notice\">\($0)</p>" } ?? ""
        return Layout.page(title: "Status", kind: "status", body: """
            <h1>Status</h1>\(note)
            <section class="counts"><h2>Indexing</h2>
            <dl class="stats"><div><dt>Indexed</dt><dd>\(s.indexed)</dd></div><div><dt>Queued</dt><dd>\(s.queued)</dd></div>
            <div><dt>Failed</dt><dd>\(s.failed)</dd></div><div><dt>With a prompt</dt><dd>\(s.withPrompt)</dd></div>\(phases(s))</dl>
            <p>Since start: \(s.processedSinceStart) processed, \(s.failedSinceStart) failed. revsdd \(s.version), pid \(s.pid).</p>
            \(analysing(s))\(predicting(s.learning))
            </section>
            <section><h2>Watched folders</h2>\(watches(s))</section>
            <section><h2>Learning</h2>\(learning(s.learning, csrf: csrf))</section>
            <section><h2>Failed files</h2>\(failedFiles(failed, fallback: s.failedFiles))</section>
            <section><h2>Models</h2><ul>\(s.models.map { "<li>\($0)</li>" as HTML })</ul></section>
            """)
    }

    /// The two phases' counts (absent from a daemon before them): searchable
    /// by prompt or prediction, analysed (pixels read), analyses waiting.
    static func phases(_ s: StatusResult) -> HTML {
        guard let searchable = s.searchable, let analysed = s.analysed else { return .empty }
        return """
            <div><dt>Searchable</dt><dd>\(searchable)</dd></div><div><dt>Analysed</dt><dd>\(analysed)</dd></div>\
            <div><dt>To analyse</dt><dd>\(s.analysisQueued ?? 0)</dd></div>
            """
    }

    /// The background phase's progress: pixels, encoders, thumbnails.
    static func analysing(_ s: StatusResult) -> HTML {
        guard let analysed = s.analysed, let waiting = s.analysisQueued, waiting > 0 else { return .empty }
        let total = analysed + waiting
        return "<p class=\"phase\">Analysing pixels: \(analysed) of \(total) <progress max=\"\(total)\" value=\"\(analysed)\"></progress></p>"
    }

    /// Learning's re-prediction of the unlabelled images.
    static func predicting(_ l: LearningStatus?) -> HTML {
        guard case let .predicting(done, total)? = l?.state else { return .empty }
        return "<p class=\"phase\">Predicting prompts: \(done) of \(total) <progress max=\"\(total)\" value=\"\(done)\"></progress></p>"
    }

    static func watches(_ s: StatusResult) -> HTML {
        let missing = Set(s.missingWatches)
        let items: [HTML] = s.watches.map { w in
            missing.contains(w) ? "<li><code>\(w)</code> <span class=\"badge missing\">missing</span></li>" : "<li><code>\(w)</code></li>"
        }
        let extraMissing: [HTML] = s.missingWatches.filter { !s.watches.contains($0) }.map { "<li><code>\($0)</code> <span class=\"badge missing\">missing</span></li>" }
        let limit: HTML = s.watchLimit.map { "<p class=\"error\">\($0)</p>" } ?? ""
        let list: HTML = items.isEmpty && extraMissing.isEmpty ? "<p class=\"none\">No folder is watched (revsdctl watch add FOLDER).</p>" : "<ul class=\"watches\">\(items)\(extraMissing)</ul>"
        return "\(list)<p>\(s.watchedDirectories) directories watched.</p>\(limit)"
    }

    static func date(_ t: Double) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t)) }

    static func learning(_ l: LearningStatus?, csrf: String) -> HTML {
        guard let l else { return "<p class=\"none\">revsdd runs without learning.</p>" }
        let state: HTML
        switch l.state {
        case .idle: state = "idle"
        case let .training(phase, fraction, reason):
            state = "training (\(phase), \(Int((fraction * 100).rounded())) %: \(reason)) <progress max=\"1\" value=\"\(fraction, digits: 3)\"></progress>"
        case let .predicting(done, total): state = "predicting (\(done) of \(total))"
        }
        var out: [HTML] = ["<p>State: <span class=\"state\">\(state)</span>. Prompt bank: \(l.promptBank) prompts.</p>"]
        if let run = l.lastRun {
            var rows: [HTML] = [
                "<tr><th>Trained</th><td>\(date(run.trainedAt))</td></tr>",
                "<tr><th>Examples</th><td>\(run.examples)</td></tr>",
                "<tr><th>Validation mean cosine</th><td>\(run.validationMeanCosine, digits: 3) (constant prediction: \(run.constantMeanCosine, digits: 3))</td></tr>",
                "<tr><th>Predictions</th><td>\(run.notAdoptedReason ?? (run.isAdopted ? "learned" : "zero-shot"))</td></tr>",
                "<tr><th>Members</th><td>\(run.members.joined(separator: ", "))</td></tr>",
            ]
            if let d = run.distinctPrompts { rows.append("<tr><th>Distinct prompts</th><td>\(d)</td></tr>") }
            if let v = run.validationExamples { rows.append("<tr><th>Validation images</th><td>\(v)</td></tr>") }
            out.append("<h3>Last run</h3><table class=\"parameters\">\(rows)</table>")
        } else {
            out.append("<p class=\"none\">No training run has succeeded yet.</p>")
        }
        if let e = l.lastError { out.append("<p class=\"error\">Last run failed: \(e)</p>") }
        out.append("""
            <form class="train" action="/train" method="post"><input type="hidden" name="csrf" value="\(csrf)">
            <button type="submit">Train now</button></form>
            """)
        return "\(out)"
    }

    static func failedFiles(_ f: Result<FailedResult, PageError>, fallback: [FailedFile]) -> HTML {
        let files: [FailedFile], total: Int?, note: HTML
        switch f {
        case let .success(r): files = r.files; total = r.total; note = ""
        case let .failure(e): files = fallback; total = nil; note = "<p class=\"none\">The most recent only (\(e.message)).</p>"
        }
        guard !files.isEmpty else { return "<p class=\"none\">No file failed.</p>" }
        let head: HTML = total.map { "<p>\($0) in all, most recent first.</p>" } ?? ""
        let rows: [HTML] = files.map { "<tr><td><code>\($0.path)</code></td><td>\($0.error)</td><td>\(date($0.at))</td></tr>" }
        return "\(head)\(note)<table class=\"failed\"><tr><th>File</th><th>Why</th><th>When</th></tr>\(rows)</table>"
    }
}
