/// InvokeAI 2.x "Dream" text: the prompt, quoted or not, then dream.py
/// switches: "a cat [dog]" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms.
/// Words in square brackets are InvokeAI's negative prompt; the prompt is
/// kept verbatim (as InvokeAI stores it) and the bracketed words are also
/// given as the negative prompt.
enum DreamParser {
    static func parse(_ text: String) -> GenerationMetadata? {
        let t = text.trimmingWhitespaceAndNUL
        guard !t.isEmpty else { return nil }
        var prompt: String
        var rest: Substring
        if t.hasPrefix("\"") {
            var p = ""
            var i = t.index(after: t.startIndex)
            var closed = false
            while i < t.endIndex {
                let ch = t[i]
                if ch == "\\", t.index(after: i) < t.endIndex, t[t.index(after: i)] == "\"" {
                    p.append("\""); i = t.index(i, offsetBy: 2); continue
                }
                if ch == "\"" { closed = true; i = t.index(after: i); break }
                p.append(ch); i = t.index(after: i)
            }
            guard closed else { return nil }
            prompt = p
            rest = t[i...]
        } else {
            // The prompt ends at the first " -x" switch.
            var cut = t.endIndex
            var i = t.startIndex
            while i < t.endIndex {
                let next = t.index(after: i)
                if t[i] == " ", next < t.endIndex, t[next] == "-", t.index(after: next) < t.endIndex,
                   t[t.index(after: next)].isLetter {
                    cut = i; break
                }
                i = next
            }
            prompt = String(t[..<cut])
            rest = t[cut...]
        }
        prompt = prompt.trimmingWhitespaceAndNUL
        var m = GenerationMetadata(prompt: prompt, source: "invokeai", raw: text)
        let words = rest.split(whereSeparator: { $0.isWhitespace })
        var k = 0
        while k < words.count {
            let w = words[k]
            k += 1
            guard w.hasPrefix("-"), w.count >= 2, !w.hasPrefix("--") else { continue }
            let flag = w[w.index(after: w.startIndex)]
            var value = String(w.dropFirst(2))
            if value.isEmpty, k < words.count, !(words[k].hasPrefix("-") && words[k].dropFirst().first?.isLetter == true) {
                value = String(words[k]); k += 1
            }
            switch flag {
            case "s": m.steps = Int(value)
            case "S": m.seed = UInt64(value)
            case "W": m.width = Int(value)
            case "H": m.height = Int(value)
            case "C": m.cfgScale = Double(value)
            case "A": m.sampler = value
            default: break
            }
        }
        let negative = bracketed(prompt)
        if !negative.isEmpty { m.negativePrompt = negative.joined(separator: ", ") }
        return m
    }

    /// The contents of top-level [...] groups.
    static func bracketed(_ s: String) -> [String] {
        var out: [String] = [], depth = 0, current = ""
        for ch in s {
            if ch == "[" { if depth > 0 { current.append(ch) }; depth += 1 }
            else if ch == "]", depth > 0 {
                depth -= 1
                if depth == 0 { if !current.trimmingWhitespaceAndNUL.isEmpty { out.append(current.trimmingWhitespaceAndNUL) }; current = "" }
                else { current.append(ch) }
            } else if depth > 0 { current.append(ch) }
        }
        return out
    }
}
