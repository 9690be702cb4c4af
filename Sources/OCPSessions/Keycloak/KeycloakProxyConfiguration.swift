import Foundation

/// Proxy settings read from the conventional environment variables, since AsyncHTTPClient
/// ignores them: `https_proxy`/`HTTPS_PROXY` for https:// URLs, `http_proxy` for http:// URLs
/// (the upper-case form is ignored as curl does, because CGI servers set it from a request
/// header), and `no_proxy`/`NO_PROXY` for exceptions. Loopback hosts never use a proxy.
public struct KeycloakProxyConfiguration: Sendable, Equatable {
    /// A proxy to send requests through.
    public struct Server: Sendable, Hashable, CustomStringConvertible {
        /// The proxy protocol.
        public enum Kind: String, Sendable, Hashable {
            /// An HTTP proxy (CONNECT for https:// targets).
            case http
            /// A SOCKS5 proxy (`socks5://` or `socks5h://`).
            case socks5
        }

        public var kind: Kind
        public var host: String
        public var port: Int
        /// For HTTP proxies: sent as Basic proxy authorization (SOCKS credentials are not supported).
        public var username: String?
        /// Kept out of `description`.
        public var password: String?

        public init(kind: Kind, host: String, port: Int, username: String? = nil, password: String? = nil) {
            self.kind = kind
            self.host = host
            self.port = port
            self.username = username
            self.password = password
        }

        public var description: String {
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "\(kind.rawValue)://\(shownHost):\(port)" + (username == nil ? "" : " (with credentials)")
        }
    }

    /// One `no_proxy` entry.
    public enum NoProxyRule: Sendable, Equatable {
        /// `*`: no proxy for any host.
        case all
        /// `example.com` or `.example.com`: the domain and its subdomains, optionally one port.
        case domain(String, port: Int?)
        /// An IP address or CIDR block (`10.0.0.0/8`, `fd00::/8`), optionally one port.
        case network([UInt8], prefixLength: Int, port: Int?)
    }

    /// For https:// URLs.
    public var httpsProxy: Server?
    /// For http:// URLs (only loopback ones are allowed, and loopback never uses a proxy).
    public var httpProxy: Server?
    /// Hosts reached directly.
    public var noProxy: [NoProxyRule]

    public init(httpsProxy: Server? = nil, httpProxy: Server? = nil, noProxy: [NoProxyRule] = []) {
        self.httpsProxy = httpsProxy
        self.httpProxy = httpProxy
        self.noProxy = noProxy
    }

    /// No proxy at all.
    public static let none = KeycloakProxyConfiguration()

    /// Reads the proxy variables from `environment` (pass `ProcessInfo.processInfo.environment`).
    /// - Throws: `.configuration` when a proxy variable is set but unusable.
    public static func fromEnvironment(_ environment: [String: String]) throws(IdPError) -> KeycloakProxyConfiguration {
        func value(_ names: String...) -> (name: String, value: String)? {
            for name in names {
                if let v = environment[name]?.trimmingASCIIWhitespace(), !v.isEmpty { return (name, v) }
            }
            return nil
        }
        var config = KeycloakProxyConfiguration()
        if let (name, text) = value("https_proxy", "HTTPS_PROXY") {
            config.httpsProxy = try parseProxyURL(text, variable: name)
        }
        if let (name, text) = value("http_proxy") {
            config.httpProxy = try parseProxyURL(text, variable: name)
        }
        if let (_, text) = value("no_proxy", "NO_PROXY") {
            config.noProxy = parseNoProxy(text)
        }
        return config
    }

    /// The proxy for a request to `url`, or nil to connect directly.
    public func proxy(for url: KeycloakURLPolicy.CheckedURL) -> Server? {
        guard let server = url.scheme == "https" ? httpsProxy : httpProxy else { return nil }
        if KeycloakURLPolicy.isLoopback(host: url.host) { return nil }
        return bypasses(host: url.host, port: url.effectivePort) ? nil : server
    }

    /// Whether `no_proxy` exempts this host and port.
    public func bypasses(host: String, port: Int) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        let address = KeycloakIPAddress.parse(host)
        for rule in noProxy {
            switch rule {
            case .all:
                return true
            case .domain(let domain, let rulePort):
                if rulePort.map({ $0 == port }) ?? true, host == domain || host.hasSuffix("." + domain) {
                    return true
                }
            case .network(let network, let prefixLength, let rulePort):
                if rulePort.map({ $0 == port }) ?? true, let address,
                    KeycloakIPAddress.contains(network: network, prefixLength: prefixLength, address: address)
                {
                    return true
                }
            }
        }
        return false
    }

    /// Parses `[scheme://][user[:password]@]host[:port][/]`. Without a scheme an HTTP proxy is
    /// meant; without a port, 1080 (curl's default).
    public static func parseProxyURL(_ text: String, variable: String) throws(IdPError) -> Server {
        func fail(_ why: String) -> IdPError {
            IdPError(.configuration, "\(variable) \(why); expected http://[user:password@]host:port")
        }
        var rest = Substring(text)
        var kind = Server.Kind.http
        if let range = rest.range(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            switch scheme {
            case "http": kind = .http
            case "socks5", "socks5h": kind = .socks5
            case "https": throw fail("is an https:// proxy, which is not supported")
            default: throw fail("has the unsupported scheme '\(KeycloakErrorText.quote(scheme, limit: 20))'")
            }
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...].allSatisfy({ $0 == "/" }) else { throw fail("has a path") }
            rest = rest[..<slash]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                username = percentDecoded(userinfo[..<colon])
                password = percentDecoded(userinfo[userinfo.index(after: colon)...])
            } else {
                username = percentDecoded(userinfo)
            }
            guard username != nil, password != nil || !userinfo.contains(":") else {
                throw fail("has badly percent-encoded credentials")
            }
        }
        guard let (host, port) = splitHostPort(rest), !host.isEmpty else { throw fail("has no valid host") }
        guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:".contains($0)) }) else {
            throw fail("has an invalid host")
        }
        let effectivePort = port ?? 1080
        guard (1...65535).contains(effectivePort) else { throw fail("has an invalid port") }
        return Server(kind: kind, host: host.lowercased(), port: effectivePort, username: username, password: password)
    }

    /// Parses a `no_proxy` list: entries separated by commas or spaces; `*`; domains with or
    /// without a leading `.` or `*.`; IP addresses; CIDR blocks; each optionally with `:port`.
    /// Unparseable entries are ignored, as other tools do.
    public static func parseNoProxy(_ text: String) -> [NoProxyRule] {
        var rules: [NoProxyRule] = []
        for raw in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }) {
            var entry = raw.lowercased()
            if entry == "*" {
                rules.append(.all)
                continue
            }
            if let slash = entry.firstIndex(of: "/") {
                let addressText = entry[..<slash]
                guard let bits = Int(entry[entry.index(after: slash)...]),
                    let network = KeycloakIPAddress.parse(addressText), (0...network.count * 8).contains(bits)
                else { continue }
                rules.append(.network(network, prefixLength: bits, port: nil))
                continue
            }
            if let address = KeycloakIPAddress.parse(entry) {
                rules.append(.network(address, prefixLength: address.count * 8, port: nil))
                continue
            }
            guard let (host, port) = splitHostPort(Substring(entry)) else { continue }
            if let address = KeycloakIPAddress.parse(host) {
                rules.append(.network(address, prefixLength: address.count * 8, port: port))
                continue
            }
            entry = host
            if entry.hasPrefix("*.") { entry.removeFirst(2) }
            while entry.hasPrefix(".") { entry.removeFirst() }
            if entry.hasSuffix(".") { entry.removeLast() }
            guard !entry.isEmpty else { continue }
            rules.append(.domain(entry, port: port))
        }
        return rules
    }

    /// `host`, `host:port`, `[v6]`, `[v6]:port`. Nil if the port is not a number.
    private static func splitHostPort(_ text: Substring) -> (String, Int?)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.hasPrefix(":"), let port = Int(after.dropFirst()), port > 0 else { return nil }
            return (host, port)
        }
        guard let colon = text.lastIndex(of: ":") else { return (String(text), nil) }
        guard let port = Int(text[text.index(after: colon)...]), port > 0 else { return nil }
        return (String(text[..<colon]), port)
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let h = iterator.next(), let l = iterator.next(),
                    Unicode.Scalar(h).properties.isASCIIHexDigit, Unicode.Scalar(l).properties.isASCIIHexDigit,
                    let value = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
