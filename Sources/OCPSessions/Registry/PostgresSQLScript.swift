import Foundation

/// Splits a migration file into single statements: PostgreSQL's extended query protocol (the only
/// one postgres-nio offers without deprecated API) runs one statement per request.
///
/// A `;` ends a statement unless it sits in a quoted string ('...'), a quoted identifier ("..."),
/// a dollar-quoted body ($$...$$, $tag$...$tag$) or a comment (-- to the end of the line, /* */).
/// Comments are kept inside the statement they precede; statements holding only comments and
/// white space are dropped.
public enum PostgresSQLScript {
    public static func statements(_ script: String) -> [String] {
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0
        var meaningful = false
        func flush(upTo end: Int) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            if meaningful { statements.append(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
            meaningful = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "-") where next(bytes, index) == UInt8(ascii: "-"):
                index = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                continue
            case UInt8(ascii: "/") where next(bytes, index) == UInt8(ascii: "*"):
                index = find([UInt8(ascii: "*"), UInt8(ascii: "/")], in: bytes, from: index + 2) ?? bytes.count
                continue
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                meaningful = true
                // A doubled quote inside the string is part of it: the scan simply re-enters.
                index = (bytes[(index + 1)...].firstIndex(of: byte) ?? bytes.count) + 1
                continue
            case UInt8(ascii: "$"):
                meaningful = true
                if let tagEnd = dollarTagEnd(bytes, from: index) {
                    let tag = Array(bytes[index...tagEnd])
                    index = (find(tag, in: bytes, from: tagEnd + 1) ?? bytes.count)
                    continue
                }
            case UInt8(ascii: ";"):
                flush(upTo: index)
                start = index + 1
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                break
            default:
                meaningful = true
            }
            index += 1
        }
        flush(upTo: bytes.count)
        return statements
    }

    private static func next(_ bytes: [UInt8], _ index: Int) -> UInt8? {
        index + 1 < bytes.count ? bytes[index + 1] : nil
    }

    /// The index of the closing `$` of a dollar-quote tag opening at `index` (`$$` or `$name$`),
    /// or nil when this `$` is not one (a positional parameter such as `$1`).
    private static func dollarTagEnd(_ bytes: [UInt8], from index: Int) -> Int? {
        var cursor = index + 1
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "$") { return cursor }
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            guard letter || byte == UInt8(ascii: "_") || (digit && cursor > index + 1) else { return nil }
            cursor += 1
        }
        return nil
    }

    /// The index just past the first occurrence of `needle` at or after `from`.
    private static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, from <= bytes.count - needle.count else { return nil }
        var index = from
        while index <= bytes.count - needle.count {
            if bytes[index] == needle[0], Array(bytes[index..<(index + needle.count)]) == needle {
                return index + needle.count
            }
            index += 1
        }
        return nil
    }
}
