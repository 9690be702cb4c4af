/// Makes text that came from the network (an OAuth `error`, a header, a URL) safe to quote in a
/// one-line `IdPError` message.
enum KeycloakErrorText {
    /// Longest quoted fragment, in characters: enough for every Keycloak `error_description`,
    /// short enough that a hostile server cannot flood a log line.
    static let maxQuotedLength = 160

    /// Strips control and formatting characters (newlines, escapes, bidi overrides), collapses
    /// whitespace, replaces anything that looks like a token, and truncates.
    static func quote(_ raw: String, limit: Int = maxQuotedLength) -> String {
        var cleaned = ""
        cleaned.reserveCapacity(min(raw.utf8.count, limit * 4))
        var lastWasSpace = true
        // Bounded scan: a 1 MiB description must not cost 1 MiB of work per message.
        for scalar in raw.unicodeScalars.prefix(limit * 8) {
            if isHidden(scalar) || scalar.properties.isWhitespace {
                if !lastWasSpace { cleaned.unicodeScalars.append(" ") }
                lastWasSpace = true
            } else {
                cleaned.unicodeScalars.append(scalar)
                lastWasSpace = false
            }
        }
        let words = cleaned.split(separator: " ", omittingEmptySubsequences: true).map(redactingTokens)
        let joined = words.joined(separator: " ")
        if joined.count <= limit { return joined }
        return String(joined.prefix(limit)) + "…"
    }

    /// `error` plus `error_description` as the IAM gave them, e.g. `invalid_grant: Session not active`.
    static func oauthSummary(error: String?, description: String?) -> String? {
        let e = error.map { quote($0, limit: 60) }.flatMap { $0.isEmpty ? nil : $0 }
        let d = description.map { quote($0) }.flatMap { $0.isEmpty ? nil : $0 }
        switch (e, d) {
        case (let e?, let d?): return "\(e): \(d)"
        case (let e?, nil): return e
        case (nil, let d?): return d
        case (nil, nil): return nil
        }
    }

    private static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return true
        default:
            return false
        }
    }

    /// A JWT or another long opaque credential-like run (base64url, dots). Keycloak's own texts
    /// contain no such words; a UUID (36 characters) is left alone.
    /// The word, or every token-like run inside it, replaced: a token quoted in JSON
    /// (`{"access_token":"eyJ..."}`) is one word with its neighbours.
    private static func redactingTokens(_ word: Substring) -> String {
        if looksLikeToken(word) { return "<redacted>" }
        var result = ""
        var run = ""
        func flush() {
            result += looksLikeToken(Substring(run)) ? "<redacted>" : run
            run = ""
        }
        for scalar in word.unicodeScalars {
            // `/` ends a run here, so a URL's path segments stay readable.
            if isTokenCharacter(scalar) && scalar != "/" {
                run.unicodeScalars.append(scalar)
            } else {
                flush()
                result.unicodeScalars.append(scalar)
            }
        }
        flush()
        return result
    }

    private static func isTokenCharacter(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "=", "+", "/": return true
        default: return false
        }
    }

    private static func looksLikeToken(_ word: Substring) -> Bool {
        if word.hasPrefix("eyJ") && word.count >= 16 { return true }
        guard word.count >= 40 else { return false }
        return word.unicodeScalars.allSatisfy(isTokenCharacter)
    }
}
