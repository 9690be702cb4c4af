/// An account at the IAM. The IAM's session limiter counts a user's sessions across all clients,
/// so the client id is not part of the key.
public struct AccountKey: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `scheme://host[:port][/path]`, without a trailing slash.
    public var host: String
    public var realm: String
    public var username: String

    public init(host: String, realm: String, username: String) {
        var host = host
        while host.hasSuffix("/") { host.removeLast() }
        self.host = host
        self.realm = realm
        self.username = username
    }

    /// `alice@master https://iam.example.com`
    public var description: String { "\(username)@\(realm) \(host)" }
}
