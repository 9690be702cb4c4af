import Foundation

/// Stable, hand-ordered JSON for `--json` output (keys in the documented order).
enum JSONOutput {
    indirect enum Value {
        case string(String)
        case number(Double)
        case integer(Int)
        case bool(Bool)
        case null
        case object([(String, Value)])
        case array([Value])
    }

    static func object(_ fields: [(String, Value)]) -> String { render(.object(fields)) }

    static func render(_ value: Value) -> String {
        switch value {
        case .string(let s): return quote(s)
        case .number(let n): return n.isFinite ? String(n) : "null"
        case .integer(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .object(let fields): return "{" + fields.map { quote($0.0) + ":" + render($0.1) }.joined(separator: ",") + "}"
        case .array(let values): return "[" + values.map(render).joined(separator: ",") + "]"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// RFC 3339, UTC, whole seconds.
    static func timestamp(_ epoch: Double) -> String {
        var time = time_t(epoch.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
