/// A prompt as words to match, without the syntax front-ends read in it:
/// attention `(word:1.2)`, `((word))`, `[word]`; prompt editing `[a:b:0.5]`,
/// `[a:0.5]`, `[a::0.5]`; alternation `[a|b]`; dynamic prompts `{a|b}`,
/// `{2$$a|b|c}` and `__wildcard__`; extra networks `<lora:name:0.8>`,
/// `<lyco:…>`, `<hypernet:…>` (dropped) and InvokeAI's `<concept>` tokens
/// (kept as words); ComfyUI's `embedding:name`; `BREAK` and `AND` (with
/// composable weights `:1.2`); InvokeAI's `("a", "b").blend(0.5, 0.5)`,
/// `(a).swap(b)` and `word++`/`(words)-`/`(words)1.3`; escaped brackets
/// `\(` `\)`. Words and commas stay in their order; nothing is added.
///
/// The raw prompt is what the file says and stays what revsd shows and what
/// `eval` scores against; this text is for search (the embedding a query
/// meets, the full-text index).
public enum PromptText {
    /// The patterns, built once: a regex literal is built again each time
    /// its expression runs, and building ~25 of them per prompt was most of
    /// the cost of cleaning one (bench/RESULTS.md, gallery section: revsdd's
    /// start at 100k prompts). `Regex` is not `Sendable` (for its generic
    /// output), but matching one from several threads is safe: its compiled
    /// program is built once and published atomically
    /// (`Regex.Program`, `@unchecked Sendable`, in _StringProcessing).
    enum P {
        nonisolated(unsafe) static let escapedBracket = #/\\[()\[\]{}:|]/#
        nonisolated(unsafe) static let extraNetwork = #/<[^<>]*:[^<>]*>/#
        nonisolated(unsafe) static let concept = #/<([^<>:]+)>/#
        nonisolated(unsafe) static let dashOrUnderscore = #/[-_]/#
        nonisolated(unsafe) static let embedding = #/\bembedding:[^\s,()\[\]]+/#
        nonisolated(unsafe) static let invokeBlend = #/\.(?:blend|and)\([^()]*\)/#
        nonisolated(unsafe) static let invokeSwap = #/\.swap\(([^()]*)\)/#
        nonisolated(unsafe) static let quote = #/"/#
        nonisolated(unsafe) static let dynamicOpen = #/\{\s*(?:\d+(?:-\d+)?\s*\$\$)?/#
        nonisolated(unsafe) static let dynamicClose = #/\}/#
        nonisolated(unsafe) static let wildcard = #/__([A-Za-z0-9/_-]+?)__/#
        nonisolated(unsafe) static let wildcardSeparator = #/[_\/]/#
        nonisolated(unsafe) static let editingNumber = #/:\s*:?\s*\d*\.?\d+\s*\]/#
        nonisolated(unsafe) static let editingColon = #/(\[[^\[\]]*?):/#
        nonisolated(unsafe) static let attentionWeight = #/:\s*-?\d*\.?\d+\s*(?=\))/#
        nonisolated(unsafe) static let invokeWeight = #/\)\s*(?:[+-]+|\d*\.\d+|\d+(?![\w]))/#
        nonisolated(unsafe) static let invokeSuffix = #/(\w)(?:\++|-{2,})(?=[\s,)]|$)/#
        nonisolated(unsafe) static let composableWeight = #/\s:\s*-?\d*\.?\d+(?=\s|$)/#
        nonisolated(unsafe) static let andOrBreak = #/\b(?:AND|BREAK)\b/#
        nonisolated(unsafe) static let bracket = #/[()\[\]|]/#
        nonisolated(unsafe) static let spaces = #/\s+/#
        nonisolated(unsafe) static let spaceBeforeComma = #/\s+,/#
        nonisolated(unsafe) static let repeatedCommas = #/,(?:\s*,)+/#
        nonisolated(unsafe) static let commaBeforeWord = #/,(?=\S)/#
    }

    /// The prompt with the syntax above stripped. Each pattern runs only
    /// where the text holds the bytes any match of it must (a `<` for an
    /// extra network, `:` and `)` for a weight): a plain prompt skips nearly
    /// all of them, and phase 1 cleans every file's prompt (bench/RESULTS.md,
    /// phases: the patterns were a tenth of its CPU).
    public static func cleaned(_ prompt: String) -> String { cleaned(prompt, everyPattern: false) }

    /// `everyPattern`: run every pattern, whatever the text holds (what
    /// the tests compare the skipping with).
    static func cleaned(_ prompt: String, everyPattern: Bool) -> String {
        var s = prompt
        func may(_ holds: @autoclosure () -> Bool) -> Bool { everyPattern || holds() }
        // Escaped brackets are literal characters: out of the syntax's way first.
        if may(has(s, "\\")) { s.replace(P.escapedBracket, with: " ") }
        // Extra networks and hypernetworks (`<lora:name:w>`, `<lyco:…>`,
        // `<cdt:…>`) say how, not what; `<concept>` names an embedding.
        if may(has(s, "<")) {
            s.replace(P.extraNetwork, with: " ")
            s.replace(P.concept) { " " + String($0.output.1).replacing(P.dashOrUnderscore, with: " ") + " " }
        }
        if may(has(s, "embedding:")) { s.replace(P.embedding, with: " ") }
        // InvokeAI: `.blend(0.5, 0.5)` weights, `.swap(b)` keeps b, `.and()`.
        if may(has(s, ".blend(") || has(s, ".and(")) { s.replace(P.invokeBlend, with: " ") }
        if may(has(s, ".swap(")) { s.replace(P.invokeSwap) { " " + $0.output.1 } }
        if may(has(s, "\"")) { s.replace(P.quote, with: " ") }
        // Dynamic prompts: `{2$$a|b}` and wildcards `__name__`.
        if may(has(s, "{")) { s.replace(P.dynamicOpen, with: " ") }
        if may(has(s, "}")) { s.replace(P.dynamicClose, with: " ") }
        if may(has(s, "__")) { s.replace(P.wildcard) { " " + String($0.output.1).replacing(P.wildcardSeparator, with: " ") + " " } }
        // Prompt editing `[a:b:0.5]`, `[a:0.5]`, `[a::0.5]`: the number goes, both texts stay.
        let colon = everyPattern || has(s, ":")
        if may(colon && has(s, "]")) { s.replace(P.editingNumber, with: " ") }
        if may(colon && has(s, "[")) { s.replace(P.editingColon) { $0.output.1 + " " } }
        // Attention weights `(word:1.2)` and InvokeAI's `(words)1.3`, `(words)+`, `word--`.
        if may(has(s, ")")) {
            if colon { s.replace(P.attentionWeight, with: " ") }
            s.replace(P.invokeWeight, with: ") ")
        }
        if may(has(s, "+") || has(s, "--")) { s.replace(P.invokeSuffix) { $0.output.1 + " " } }
        // Composable diffusion and A1111's chunk break: `a :1.2 AND b`, `BREAK`.
        if may(has(s, ":")) { s.replace(P.composableWeight, with: " ") }
        if may(has(s, "AND") || has(s, "BREAK")) { s.replace(P.andOrBreak, with: ", ") }
        // What is left of the syntax: brackets, alternation bars.
        if may(has(s, "(") || has(s, ")") || has(s, "[") || has(s, "]") || has(s, "|")) { s.replace(P.bracket, with: " ") }
        return tidy(s, everyPattern: everyPattern)
    }

    /// Whether `s`'s UTF-8 holds `needle`'s: a match of a pattern whose
    /// every match contains these characters needs it.
    static func has(_ s: String, _ needle: StaticString) -> Bool {
        let n = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        var text = s
        return text.withUTF8 { t in
            guard n.count <= t.count, let first = n.first else { return n.isEmpty }
            var i = 0
            while i <= t.count - n.count {
                if t[i] == first {
                    var j = 1
                    while j < n.count && t[i + j] == n[j] { j += 1 }
                    if j == n.count { return true }
                }
                i += 1
            }
            return false
        }
    }

    /// What search matches a known prompt against: the words the full-text
    /// index holds, and (with `withoutBoilerplate`) what its search row
    /// embeds (`prompt.search`). The raw prompt stays what revsd shows and
    /// what training targets.
    public static func searchText(_ prompt: String) -> String {
        cleaned(prompt)
    }

    /// `searchText` without the tags that say how well rather than what
    /// (`boilerplateTags`); `searchText` itself when nothing else is left.
    /// A search row embeds both, averaged (`ImageAnalyzer.searchEmbeddings`):
    /// the boilerplate weighs half as much as in the prompt.
    public static func withoutBoilerplate(_ prompt: String) -> String {
        let text = searchText(prompt)
        let kept = text.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }.filter { !boilerplateTags.contains($0.lowercased()) }
        return kept.isEmpty ? text : kept.joined(separator: ", ")
    }

    /// The most frequent tags of shared/fixtures/prompts/real-sd-prompts.tsv
    /// (11,572 prompts; each comma-separated phrase of the cleaned,
    /// lowercased prompt in at least 0.5 % of them, "highly detailed" in
    /// 11.4 %) that name quality, resolution, detail, lighting, a renderer
    /// or a site, not a subject, medium, style or artist; and resolution
    /// and booru quality tags rarer there ("ultra hd", "uhd": 0.2 %) or
    /// absent ("best quality", "highres", "absurdres").
    static let boilerplateTags: Set<String> = [
        "highly detailed", "artstation", "sharp focus", "trending on artstation", "intricate", "octane render", "8 k",
        "smooth", "elegant", "cinematic lighting", "unreal engine", "4 k", "8k", "detailed", "masterpiece",
        "volumetric lighting", "high detail", "4k", "dramatic lighting", "beautiful", "hyper detailed", "hd", "cgsociety",
        "unreal engine 5", "epic", "high quality", "global illumination", "depth of field", "ultra detailed",
        "extremely detailed", "intricate details", "dynamic lighting", "high contrast", "ray tracing", "octane",
        "studio lighting", "deviantart", "hdr", "radiant light", "high resolution",
        "best quality", "highres", "absurdres", "ultra hd", "uhd",
    ]

    /// The prompt two images share when they differ only in syntax, case or
    /// spacing: `cleaned`, lowercased (one space between words). Learning
    /// groups labelled images by it (seed variations of one prompt are one
    /// prompt: never on both sides of the split, weighted once).
    public static func groupKey(_ prompt: String) -> String {
        cleaned(prompt).lowercased()
    }

    /// One space between words, one comma between phrases, none at the ends.
    /// An ASCII text whose only white space is single spaces is skipped by
    /// the patterns that would leave it as it is.
    static func tidy(_ s: String, everyPattern: Bool = false) -> String {
        var t = s
        var plain = !everyPattern   // ASCII, and no white space but single spaces
        if plain {
            t.withUTF8 { b in
                var previous: UInt8 = 0
                for c in b {
                    if c >= 0x80 || (c >= 0x09 && c <= 0x0D) || (c == 0x20 && previous == 0x20) { plain = false; break }
                    previous = c
                }
            }
        }
        if !plain { t.replace(P.spaces, with: " ") }
        if !plain || has(t, " ,") { t.replace(P.spaceBeforeComma, with: ",") }
        if everyPattern || has(t, ",") {
            t.replace(P.repeatedCommas, with: ",")
            t.replace(P.commaBeforeWord, with: ", ")
        }
        t = t.trimmingCharacters(in: " ,")
        return t
    }
}

extension String {
    /// The string without `characters` at either end.
    fileprivate func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        guard let first = firstIndex(where: { !set.contains($0) }), let last = lastIndex(where: { !set.contains($0) }) else { return "" }
        return String(self[first...last])
    }
}
