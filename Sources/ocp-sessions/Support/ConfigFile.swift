import Foundation

/// The config file (`$XDG_CONFIG_HOME/ocp-sessions/config.toml`): a `default_profile` key and
/// `[profiles.NAME]` tables whose keys are the long flag names. Only the TOML this needs is read
/// (strings, integers, booleans, comments); anything else is a one-line error.
struct ConfigFile {
    var defaultProfile: String?
    var profiles: [String: [String: String]] = [:]

    static var defaultPath: String {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.config")
        return base + "/ocp-sessions/config.toml"
    }

    /// The keys a profile may hold: the long flag names without `--`.
    static let knownKeys: [String] = [
        "host", "realm", "client-id", "username", "max-sessions", "reserve", "registry", "key-file", "ca-file", "scope",
        "client-secret-file", "password-file", "password-command",
    ]

    static func load(path: String = defaultPath) throws -> ConfigFile {
        guard FileManager.default.fileExists(atPath: path) else { return ConfigFile() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CLIError.configuration("cannot read config file \(path)")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> ConfigFile {
        var config = ConfigFile()
        var table: String?
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw bad(path, number, "unclosed table header") }
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                guard name.hasPrefix("profiles."), name.count > "profiles.".count else {
                    throw bad(path, number, "only [profiles.NAME] tables are known")
                }
                let profile = unquote(String(name.dropFirst("profiles.".count)))
                table = profile
                config.profiles[profile, default: [:]] = config.profiles[profile] ?? [:]
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw bad(path, number, "expected key = value") }
            let key = unquote(line[..<equals].trimmingCharacters(in: .whitespaces))
            let value = try parseValue(line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces), path, number)
            if let table {
                if key == "password" {
                    throw bad(path, number, "passwords do not belong in the config file; use password-file or password-command")
                }
                guard knownKeys.contains(key) else { throw bad(path, number, unknownKey(key)) }
                config.profiles[table]?[key] = value
            } else if key == "default_profile" {
                config.defaultProfile = value
            } else {
                throw bad(path, number, "unknown top-level key '\(key)'")
            }
        }
        return config
    }

    private static func stripComment(_ line: String) -> String {
        var inString = false
        var escaped = false
        for (index, char) in zip(line.indices, line) {
            // `\"` inside a string does not end it, so a `#` after it is still part of the value.
            if escaped {
                escaped = false
                continue
            }
            if inString && char == "\\" { escaped = true }
            if char == "\"" { inString.toggle() }
            if char == "#" && !inString { return String(line[..<index]) }
        }
        return line
    }

    private static func unquote(_ text: String) -> String {
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { return String(text.dropFirst().dropLast()) }
        return text
    }

    private static func parseValue(_ text: String, _ path: String, _ number: Int) throws -> String {
        if text.hasPrefix("\"") {
            guard text.count >= 2, text.hasSuffix("\"") else { throw bad(path, number, "unterminated string") }
            return String(text.dropFirst().dropLast())
                .replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
        }
        if Int(text) != nil || text == "true" || text == "false" { return text }
        throw bad(path, number, "values must be quoted strings, integers or booleans")
    }

    private static func bad(_ path: String, _ number: Int, _ why: String) -> CLIError {
        .configuration("config file \(path) line \(number + 1): \(why)")
    }

    /// Names the unknown key and, when one is close (`usrname`, `max_sessions`), the key meant.
    static func unknownKey(_ key: String) -> String {
        let normalized = key.lowercased().replacingOccurrences(of: "_", with: "-")
        let nearest = knownKeys.map { ($0, editDistance(normalized, $0)) }.min { $0.1 < $1.1 }
        let hint = nearest.flatMap { $0.1 <= 2 ? "; did you mean '\($0.0)'?" : nil }
            ?? "; known keys: \(knownKeys.joined(separator: ", "))"
        return "unknown key '\(key.prefix(64))'\(hint)"
    }

    /// Levenshtein distance, for the suggestion only (keys are short).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8.prefix(64)), b = Array(b.utf8)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
