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

/// Loads the sealing key from `OCP_SESSIONS_KEY` (base64 of 32 bytes) or from a `0600` key file
/// beside the registry, creating the file with a new random key on first use.
public enum SealingKeyLoader {
    public static func keyFilePath(forRegistry path: String) -> String { path + ".key" }

    public static func load(
        registryPath: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RegistryError) -> (TokenSealer, SealingKeySource) {
        if let encoded = environment["OCP_SESSIONS_KEY"], !encoded.isEmpty {
            guard let bytes = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw .badKey("OCP_SESSIONS_KEY is not base64 (expected base64 of 32 random bytes)")
            }
            return (try TokenSealer(keyBytes: Array(bytes)), .environment)
        }
        let path = keyFilePath(forRegistry: registryPath)
        if let bytes = try readKeyFile(path) {
            return (try TokenSealer(keyBytes: bytes), .file(path))
        }
        let key = TokenSealer.generateKey()
        try createKeyFile(path, key: key)
        // Another process may have won the race to create it: read back whatever is there now.
        guard let stored = try readKeyFile(path) else { throw .badKey("could not read back key file \(path)") }
        return (try TokenSealer(keyBytes: stored), .file(path))
    }

    static func readKeyFile(_ path: String) throws(RegistryError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .permission("cannot read key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try FileSecurity.checkPrivate(fd: fd, path: path, what: "key file")
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { throw .badKey("key file \(path) is empty") }
        // Trimmed byte-wise: Foundation's `trimmingCharacters` cost a cached `token` a million
        // instructions (a tenth of the command) in generic String decoding.
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        var (start, end) = (0, count)
        while start < end, isSpace(buffer[start]) { start += 1 }
        while end > start, isSpace(buffer[end - 1]) { end -= 1 }
        guard let bytes = Data(base64Encoded: Data(buffer[start..<end])) else { throw .badKey("key file \(path) is not base64") }
        return Array(bytes)
    }

    /// Writes the key under a temporary name and links it into place: `link` fails if a peer got
    /// there first, so no reader ever sees a half-written key file.
    static func createKeyFile(_ path: String, key: [UInt8]) throws(RegistryError) {
        let temporary = "\(path).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw .permission("cannot create key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { unlink(temporary) }
        let text = Array((Data(key).base64EncodedString() + "\n").utf8)
        let written = write(fd, text, text.count)
        let synced = fsync(fd)
        close(fd)
        guard written == text.count, synced == 0 else { throw .permission("cannot write key file \(path)") }
        if link(temporary, path) != 0 && errno != EEXIST {
            throw .permission("cannot create key file \(path): \(String(cString: strerror(errno)))")
        }
    }
}
