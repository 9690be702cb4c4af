import Foundation

/// Which URLs the client will talk to: `https://` anywhere, `http://` only to a loopback host
/// (127.0.0.0/8, `::1`, `localhost`), so passwords and tokens never cross a network in clear text.
///
/// The parser is a small strict one rather than Foundation's, so that what is checked here is
/// exactly what AsyncHTTPClient will connect to.
public enum KeycloakURLPolicy {
    /// A URL that passed the policy, split into the parts the transport and `no_proxy` need.
    public struct CheckedURL: Sendable, Equatable {
        /// `http` or `https`, lower-case.
        public var scheme: String
        /// Lower-case host name or IP literal, without brackets.
        public var host: String
        /// The explicit port, if any.
        public var port: Int?
        /// The path, `""` or starting with `/`; no query or fragment.
        public var path: String
        /// The query without `?`, if any (only allowed for endpoint URLs).
        public var query: String?

        /// The port actually used.
        public var effectivePort: Int { port ?? (scheme == "https" ? 443 : 80) }

        /// `scheme://host[:port]path[?query]`, brackets restored for IPv6.
        public var string: String {
            var s = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host)"
            if let port { s += ":\(port)" }
            s += path
            if let query { s += "?\(query)" }
            return s
        }
    }

    /// Whether `host` (a name or an IP literal, brackets optional) is a loopback host.
    public static func isLoopback(host: String) -> Bool {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if name == "localhost" { return true }
        guard let bytes = KeycloakIPAddress.parse(name) else { return false }
        return KeycloakIPAddress.isLoopback(bytes)
    }

    /// Checks the configured Keycloak address, `scheme://host[:port][/path]`, and returns it
    /// without trailing slashes. `what` names the setting in the error message.
    public static func checkHost(_ text: String, what: String = "Keycloak URL") throws(IdPError) -> CheckedURL {
        var url = try check(text, what: what, allowQuery: false)
        while url.path.hasSuffix("/") { url.path.removeLast() }
        return url
    }

    /// Checks a URL the client will call (an endpoint from discovery, or one built from the host).
    public static func checkEndpoint(_ text: String, what: String) throws(IdPError) -> CheckedURL {
        try check(text, what: what, allowQuery: true)
    }

    private static func check(_ text: String, what: String, allowQuery: Bool) throws(IdPError) -> CheckedURL {
        func fail(_ why: String) -> IdPError {
            IdPError(.configuration, "\(what) '\(KeycloakErrorText.quote(withoutUserInfo(text), limit: 120))' \(why)")
        }
        guard !text.isEmpty else { throw IdPError(.configuration, "\(what) is empty") }
        guard text.utf8.count <= 4096 else { throw fail("is too long") }
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }) else {
            throw fail("contains spaces, control or non-ASCII characters (use the punycode host name and percent-encoding)")
        }
        guard let schemeEnd = text.range(of: "://") else {
            throw fail("is not an absolute URL; write it as https://host[:port][/path]")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw fail("has scheme '\(KeycloakErrorText.quote(scheme, limit: 20))'; only https:// (or http:// to a loopback host) is supported")
        }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        var rest = afterScheme[authorityEnd...]

        guard !authority.contains("@") else {
            throw fail("contains user information; put credentials in the credential settings, not the URL")
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw fail("has an unterminated IPv6 address") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("has junk after the IPv6 address") }
                portText = after.dropFirst()
            }
            guard KeycloakIPAddress.parseIPv6(host) != nil else { throw fail("has an invalid IPv6 address") }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw fail("has no host") }
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" }) else {
                throw fail("has an invalid host name")
            }
        }
        var port: Int?
        if let portText {
            guard let value = Int(portText), portText.allSatisfy(\.isNumber), (1...65535).contains(value) else {
                throw fail("has an invalid port")
            }
            port = value
        }
        guard !rest.contains("#") else { throw fail("has a fragment (#...)") }
        var query: String?
        if let q = rest.firstIndex(of: "?") {
            guard allowQuery else { throw fail("has a query (?...); give only scheme://host[:port][/path]") }
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        guard isValidPath(rest), query.map({ isValidPath($0) }) ?? true else {
            throw fail("has characters that must be percent-encoded")
        }
        let checked = CheckedURL(scheme: scheme, host: host.lowercased(), port: port, path: String(rest), query: query)
        if scheme == "http" && !isLoopback(host: checked.host) {
            throw fail("uses plain http:// to a non-loopback host; use https:// (http:// is allowed only for 127.0.0.1, ::1 and localhost)")
        }
        return checked
    }

    /// The URL with any `user:password@` replaced, so a message never repeats a password.
    private static func withoutUserInfo(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        return text[..<schemeEnd.upperBound] + "***@" + rest[rest.index(after: at)...]
    }

    /// RFC 3986 `pchar`s, `/`, `?`, and well-formed `%XX` escapes.
    private static func isValidPath<S: StringProtocol>(_ text: S) -> Bool {
        var scalars = text.unicodeScalars.makeIterator()
        while let s = scalars.next() {
            switch s {
            case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", "~", "!", "$", "&", "'", "(", ")", "*", "+", ",",
                ";", "=", ":", "@", "/", "?":
                continue
            case "%":
                guard let h1 = scalars.next(), let h2 = scalars.next(), h1.properties.isASCIIHexDigit,
                    h2.properties.isASCIIHexDigit
                else { return false }
            default:
                return false
            }
        }
        return true
    }
}
