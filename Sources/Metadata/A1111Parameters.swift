import Foundation
import RevsdSystem

/// The AUTOMATIC1111 "parameters" text, also written by Forge, SD.Next,
/// Civitai, ComfyUI savers and stable-diffusion.cpp:
///
///     prompt lines
///     Negative prompt: negative lines
///     Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: x, Lora hashes: "a: 1, b: 2"
///
/// The settings line is the last line holding at least two well-known keys,
/// so prompts may span lines and contain colons and commas; lines after it
/// (e.g. Dynamic Prompts' "Template:") are kept apart.
struct A1111Parameters: Equatable {
    struct Setting: Equatable { var key: String; var value: String }

    var prompt: String
    var negativePrompt: String?
    var settings: [Setting]
    var trailingLines: [String]

    static let knownKeys: Set<String> = [
        "steps", "sampler", "cfg scale", "seed", "size", "model", "model hash", "schedule type",
        "denoising strength", "clip skip", "guidance scale", "version", "rng", "hires upscale",
    ]

    /// Parses `text`; nil when it has neither a settings line nor a
    /// "Negative prompt:" line (then it is not A1111 parameters).
    static func parse(_ text: String) -> A1111Parameters? {
        let lines = TextInput.split(text)
        let settingsIndex = lines.lastIndex(where: isSettingsLine)
        let body = settingsIndex.map { lines[..<$0] } ?? lines[...]
        var promptLines: [String] = [], negativeLines: [String] = []
        var inNegative = false
        for line in body {
            let t = String(line).trimmingWhitespaceAndNUL
            if !inNegative, t.hasPrefix("Negative prompt:") {
                inNegative = true
                negativeLines.append(String(t.dropFirst("Negative prompt:".count)).trimmingWhitespaceAndNUL)
            } else if inNegative {
                negativeLines.append(t)
            } else {
                promptLines.append(t)
            }
        }
        guard settingsIndex != nil || inNegative else { return nil }
        return A1111Parameters(
            prompt: promptLines.joined(separator: "\n").trimmingWhitespaceAndNUL,
            negativePrompt: inNegative ? negativeLines.joined(separator: "\n").trimmingWhitespaceAndNUL : nil,
            settings: settingsIndex.map { settings(in: lines[$0]) } ?? [],
            trailingLines: settingsIndex.map { lines[($0 + 1)...].map(String.init).filter { !$0.trimmingWhitespaceAndNUL.isEmpty } } ?? [])
    }

    /// Settings lines are short; longer lines are prompt text (and not worth scanning).
    static let maxSettingsLine = 1 << 16

    static func isSettingsLine(_ line: Substring) -> Bool {
        guard line.utf8.count <= maxSettingsLine, line.contains(":") else { return false }
        return settings(in: line).filter { knownKeys.contains($0.key.lowercased()) }.count >= 2
    }

    /// The `Key: value` pairs of a settings line. Values may be quoted
    /// ("a: 1, b: 2", with backslash escapes) or bracketed ({...}, [...]).
    static func settings(in line: Substring) -> [Setting] {
        let c = Array(line)
        var out: [Setting] = []
        var i = 0
        func skipToNextComma() { while i < c.count, c[i] != "," { i += 1 }; i += 1 }
        while i < c.count {
            while i < c.count, c[i].isWhitespace { i += 1 }
            let keyStart = i
            guard i < c.count, c[i].isLetter || c[i].isNumber || c[i] == "_" else { skipToNextComma(); continue }
            while i < c.count, c[i].isLetter || c[i].isNumber || c[i] == "_" || c[i] == " " || c[i] == "-" || c[i] == "/" { i += 1 }
            guard i < c.count, c[i] == ":", i - keyStart >= 2 else { skipToNextComma(); continue }
            let key = String(c[keyStart..<i]).trimmingWhitespaceAndNUL
            i += 1
            while i < c.count, c[i] == " " { i += 1 }
            var value = ""
            if i < c.count, c[i] == "\"" {
                i += 1
                while i < c.count, c[i] != "\"" {
                    if c[i] == "\\", i + 1 < c.count { i += 1 }
                    value.append(c[i]); i += 1
                }
                skipToNextComma()
            } else if i < c.count, c[i] == "{" || c[i] == "[" {
                let start = i
                var depth = 0, inString = false
                while i < c.count {
                    if inString { if c[i] == "\\" { i += 1 } else if c[i] == "\"" { inString = false } }
                    else if c[i] == "\"" { inString = true }
                    else if c[i] == "{" || c[i] == "[" { depth += 1 }
                    else if c[i] == "}" || c[i] == "]" { depth -= 1; if depth == 0 { i += 1; break } }
                    i += 1
                }
                value = String(c[start..<min(i, c.count)])
                skipToNextComma()
            } else {
                let start = i
                while i < c.count, c[i] != "," { i += 1 }
                value = String(c[start..<i]).trimmingWhitespaceAndNUL
                i += 1
            }
            out.append(Setting(key: key, value: value))
        }
        return out
    }

    /// The value of setting `key` (lower case), nil when absent or empty.
    func value(_ key: String) -> String? {
        settings.first { $0.key.lowercased() == key }.map(\.value).flatMap { $0.isEmpty ? nil : $0 }
    }

    func metadata(raw: String, source: String = "automatic1111") -> GenerationMetadata {
        var m = GenerationMetadata(prompt: prompt, negativePrompt: negativePrompt, source: source, raw: raw)
        m.steps = value("steps").flatMap { Int($0) }
        m.sampler = value("sampler")
        m.cfgScale = (value("cfg scale") ?? value("guidance scale") ?? value("cfg")).flatMap { Double($0) }
        m.seed = value("seed").flatMap { UInt64($0) }
        if let size = value("size") {
            let wh = size.lowercased().split(separator: "x").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            if wh.count == 2 { m.width = wh[0]; m.height = wh[1] }
        }
        m.model = value("model")
        m.modelHash = value("model hash")
        return m
    }
}
