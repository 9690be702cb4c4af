/// The keys a process knows: the one that seals (the registry's current key, whose id the
/// registry records) and any others it may open with (the previous key while a `rekey` is in
/// progress). A sealed blob names its key by id, so opening needs no guess.
public struct SealingKeyring: Sendable {
    public private(set) var keys: [TokenSealer]
    /// The key new tokens are sealed with.
    public private(set) var current: TokenSealer

    /// `keys` must not be empty; the first one seals until `select` picks another.
    public init(_ keys: [TokenSealer]) {
        precondition(!keys.isEmpty, "a keyring needs a key")
        self.keys = keys
        current = keys[0]
    }

    /// The id of the sealing key as the registry records it (upper-case hex, as SQLite's `hex()`).
    public var currentID: String { Self.hex(current.keyID) }

    /// Whether a key with this id is known.
    public func contains(_ id: String) -> Bool { keys.contains { Self.hex($0.keyID) == id } }

    /// Makes the key with this id the sealing key; false if it is not known.
    public mutating func select(_ id: String) -> Bool {
        guard let key = keys.first(where: { Self.hex($0.keyID) == id }) else { return false }
        current = key
        return true
    }

    public func seal(_ plaintext: String, sessionID: String) throws(RegistryError) -> [UInt8] {
        try current.seal(plaintext, sessionID: sessionID)
    }

    /// Opens with the key the blob names; `current` reports a blob whose key is unknown.
    public func open(_ sealed: [UInt8], sessionID: String) throws(RegistryError) -> String {
        if sealed.count >= 5, let key = keys.first(where: { $0.keyID[...] == sealed[1..<5] }) {
            return try key.open(sealed, sessionID: sessionID)
        }
        return try current.open(sealed, sessionID: sessionID)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16, uppercase: true).leftPadded(to: 2) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
