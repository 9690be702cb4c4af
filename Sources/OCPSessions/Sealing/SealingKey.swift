import Foundation

/// Where the sealing key came from, for `status`.
public enum SealingKeySource: Sendable, Equatable, CustomStringConvertible {
    case environment
    case file(String)

    public var description: String {
        switch self {
        case .environment: return "OCP_SESSIONS_KEY"
        case .file(let path): return "key file \(path)"
        }
    }
}

/// Loads the sealing keys from `OCP_SESSIONS_KEY`, the key file `OCP_SESSIONS_KEY_FILE` names
/// (`--key-file`), or the key file beside the registry, creating that one with a new random key
/// on first use.
///
/// Both hold base64 of 32 random bytes; several keys (one per line in the file, separated by
/// commas or spaces in the variable) are allowed, and the registry's recorded key id picks the one
/// that seals. `rekey` keeps the old and the new key in the file until its transaction committed.
public enum SealingKeyLoader {
    public static func keyFilePath(forRegistry path: String) -> String { path + ".key" }

    public static func load(
        registryPath: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RegistryError) -> (SealingKeyring, SealingKeySource) {
        if let encoded = environment["OCP_SESSIONS_KEY"], !encoded.isEmpty {
            let keys = try parseKeys(encoded, origin: "OCP_SESSIONS_KEY")
            return (SealingKeyring(keys), .environment)
        }
        if let given = try loadGiven(environment: environment) { return given }
        let path = keyFilePath(forRegistry: registryPath)
        if let keys = try readKeyFile(path) {
            return (SealingKeyring(keys), .file(path))
        }
        try createKeyFile(path, key: TokenSealer.generateKey())
        // Another process may have won the race to create it: read back whatever is there now.
        guard let stored = try readKeyFile(path) else { throw .badKey("could not read back key file \(path)") }
        return (SealingKeyring(stored), .file(path))
    }

    /// The team's key as given, never generated: `OCP_SESSIONS_KEY`, else the file
    /// `OCP_SESSIONS_KEY_FILE` names (it must exist, readable by its owner only, or its group in a
    /// team directory, as `<registry>.key`); nil when neither is set. A registry shared by several
    /// hosts (PostgreSQL) takes its key only from here: a key made up by one host would differ from
    /// the others'.
    public static func loadGiven(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RegistryError) -> (SealingKeyring, SealingKeySource)? {
        if let encoded = environment["OCP_SESSIONS_KEY"], !encoded.isEmpty {
            return (SealingKeyring(try parseKeys(encoded, origin: "OCP_SESSIONS_KEY")), .environment)
        }
        guard let path = environment["OCP_SESSIONS_KEY_FILE"], !path.isEmpty else { return nil }
        guard let keys = try readKeyFile(path) else { throw .badKey("key file \(path) does not exist (--key-file / OCP_SESSIONS_KEY_FILE)") }
        return (SealingKeyring(keys), .file(path))
    }

    /// The key `rekey` switches to, given explicitly: the first key in `file` (refused, like the key
    /// file, if others may read it) or in `OCP_SESSIONS_NEW_KEY`; nil when neither is given. Never
    /// from a command-line argument, where `ps` would show it.
    public static func newKey(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RegistryError) -> [UInt8]? {
        if let file {
            guard let keys = try readKeyFile(file) else { throw .badKey("new key file \(file) does not exist") }
            return keys[0].keyBytes
        }
        if let encoded = environment["OCP_SESSIONS_NEW_KEY"], !encoded.isEmpty {
            return try parseKeys(encoded, origin: "OCP_SESSIONS_NEW_KEY")[0].keyBytes
        }
        return nil
    }

    /// One or more base64 keys separated by newlines, commas or spaces.
    static func parseKeys(_ text: String, origin: String) throws(RegistryError) -> [TokenSealer] {
        let words = text.split { $0 == "," || $0.isWhitespace }
        guard !words.isEmpty else { throw .badKey("\(origin) holds no key") }
        var keys: [TokenSealer] = []
        for word in words {
            guard let bytes = Data(base64Encoded: String(word)) else {
                throw .badKey("\(origin) is not base64 (expected base64 of 32 random bytes)")
            }
            do {
                keys.append(try TokenSealer(keyBytes: Array(bytes)))
            } catch {
                throw .badKey("\(origin): \(error)")
            }
        }
        return keys
    }

    static func readKeyFile(_ path: String) throws(RegistryError) -> [TokenSealer]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .permission("cannot read key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try FileSecurity.checkPrivate(fd: fd, path: path, what: "key file")
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { throw .badKey("key file \(path) is empty") }
        return try parseKeys(String(decoding: buffer[0..<count], as: UTF8.self), origin: "key file \(path)")
    }

    /// Writes the key under a temporary name and links it into place: `link` fails if a peer got
    /// there first, so no reader ever sees a half-written key file.
    static func createKeyFile(_ path: String, key: [UInt8]) throws(RegistryError) {
        let temporary = try writeTemporaryKeyFile(path, keys: [key])
        defer { unlink(temporary) }
        if link(temporary, path) != 0 && errno != EEXIST {
            throw .permission("cannot create key file \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Replaces the key file with `keys` (the first seals on a registry that records no key id):
    /// written and fsynced under a temporary name, renamed over the old file, the directory
    /// fsynced, so a crash leaves either the old file or the new one, whole.
    static func replaceKeyFile(_ path: String, keys: [[UInt8]]) throws(RegistryError) {
        let temporary = try writeTemporaryKeyFile(path, keys: keys)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .permission("cannot replace key file \(path): \(reason)")
        }
        FileSecurity.syncDirectory(of: path)
    }

    private static func writeTemporaryKeyFile(_ path: String, keys: [[UInt8]]) throws(RegistryError) -> String {
        let temporary = "\(path).\(getpid()).tmp"
        let mode = FileSecurity.keyFileMode(forFileIn: (path as NSString).deletingLastPathComponent)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else {
            throw .permission("cannot create key file \(path): \(String(cString: strerror(errno)))")
        }
        let text = Array(keys.map { Data($0).base64EncodedString() + "\n" }.joined().utf8)
        // fchmod: the umask must not take the group's read bit in a team directory.
        let ok = fchmod(fd, mode) == 0 && write(fd, text, text.count) == text.count && fsync(fd) == 0
        close(fd)
        guard ok else {
            unlink(temporary)
            throw .permission("cannot write key file \(path)")
        }
        return temporary
    }
}
