/// Percent-encoding for request bodies and URL path segments.
public enum KeycloakFormEncoding {
    /// `application/x-www-form-urlencoded` as the WHATWG URL standard defines it: UTF-8, bytes
    /// outside `A-Z a-z 0-9 * - . _` as `%XX`, space as `+`. Passwords with `&`, `=`, `+`, `%`
    /// or non-ASCII characters therefore arrive intact. Pairs keep their order; the caller must
    /// not repeat a name (Keycloak answers `duplicated parameter`).
    public static func encode(_ pairs: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, (name, value)) in pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            append(name, to: &out)
            out.append(UInt8(ascii: "="))
            append(value, to: &out)
        }
        return out
    }

    /// Encodes one path segment (a realm name, a session id): every byte outside the RFC 3986
    /// unreserved set becomes `%XX`, so `/`, `?`, `#` and `..` tricks cannot change the path.
    public static func pathSegment(_ segment: String) -> String {
        if segment == "." || segment == ".." {
            return segment.utf8.map { _ in "%2E" }.joined()
        }
        var out: [UInt8] = []
        for byte in segment.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                appendEscape(byte, to: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"):
                out.append(byte)
            case UInt8(ascii: " "):
                out.append(UInt8(ascii: "+"))
            default:
                appendEscape(byte, to: &out)
            }
        }
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "%"))
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0f)])
    }
}
