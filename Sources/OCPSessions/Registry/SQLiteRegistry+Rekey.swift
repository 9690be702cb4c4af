import Foundation

/// What `rekey` did.
public struct RekeyResult: Sendable {
    /// Ids (hex) of the sealing key before and after.
    public var oldKeyID: String
    public var newKeyID: String
    /// Sessions whose tokens are now sealed with the new key.
    public var resealed: Int
    /// Sessions whose tokens opened with no known key (damaged, or moved between rows): left as
    /// they were, still unusable.
    public var unreadable: [String]
    /// Where the processes of this registry must find the new key.
    public var keySource: SealingKeySource

    public init(oldKeyID: String, newKeyID: String, resealed: Int, unreadable: [String], keySource: SealingKeySource) {
        self.oldKeyID = oldKeyID
        self.newKeyID = newKeyID
        self.resealed = resealed
        self.unreadable = unreadable
        self.keySource = keySource
    }
}

extension SQLiteRegistry {
    /// Test hook, for the crash tests only: `OCP_SESSIONS_TEST_REKEY_PAUSE=before-commit` (or
    /// `after-commit`) makes `rekey` stop there for a minute, so a test can SIGKILL it at that point.
    static let rekeyPauseVariable = "OCP_SESSIONS_TEST_REKEY_PAUSE"

    /// Rotates the sealing key: re-seals every session's tokens with `newKey` and records its id,
    /// in one write transaction, while other processes keep using the registry.
    ///
    /// With a key file, the file first gets both keys (written aside, fsynced, renamed into place)
    /// before the transaction commits, and the old key is dropped only after the commit; a crash at
    /// any point leaves a file that opens every row. Other processes notice the new id at their
    /// next transaction and reload the file before they seal anything. `newKey` nil generates one.
    ///
    /// With `OCP_SESSIONS_KEY`, `newKey` is required and nothing is written but the registry: every
    /// other process must then be given the new key (or a list holding it); until then it fails
    /// with "sealed with another key".
    public func rekey(newKey: [UInt8]? = nil) throws(RegistryError) -> RekeyResult {
        guard schemaVersion >= 2 else { throw .database("the registry \(path) has no sealing key record (schema \(schemaVersion))") }
        if keySource == .environment && newKey == nil {
            throw .badKey("OCP_SESSIONS_KEY is set, so the new key must be given: OCP_SESSIONS_NEW_KEY or --new-key-file (base64 of 32 random bytes)")
        }
        let key = newKey ?? TokenSealer.generateKey()
        let replacement = try TokenSealer(keyBytes: key)
        do {
            return try lock.withLock { () throws -> RekeyResult in
                let db = database
                var result = try db.immediateTransaction { () throws -> RekeyResult in
                    try syncSealingKey(db, writing: true)
                    let old = sealer
                    let newID = SealingKeyring.hex(replacement.keyID)
                    guard newID != old.currentID else { throw RegistryError.badKey("the new key is the registry's current key") }
                    if case .file(let keyPath) = keySource {
                        // Both keys before the switch commits: a crash from here on loses nothing.
                        try SealingKeyLoader.replaceKeyFile(keyPath, keys: [old.current.keyBytes, key])
                    }
                    try db.run("UPDATE registry_meta SET value = ? WHERE key = 'sealing_key_id'", [.text(newID)])
                    var result = RekeyResult(oldKeyID: old.currentID, newKeyID: newID, resealed: 0, unreadable: [], keySource: keySource)
                    for row in try db.query("SELECT id, access_token, refresh_token FROM sessions ORDER BY id") {
                        let id = row.string(0) ?? ""
                        guard let access = try? old.open(row.blob(1) ?? [], sessionID: id),
                              let refresh = try? old.open(row.blob(2) ?? [], sessionID: id)
                        else {
                            result.unreadable.append(id)
                            continue
                        }
                        try db.run("UPDATE sessions SET access_token = ?, refresh_token = ? WHERE id = ?",
                                   [.blob(try replacement.seal(access, sessionID: id)),
                                    .blob(try replacement.seal(refresh, sessionID: id)), .text(id)])
                        result.resealed += 1
                    }
                    try SQLiteTransaction(db: db).appendEvent(EventRecord(
                        at: Date().timeIntervalSince1970, accountID: nil, kind: .rekey, pid: Int(getpid()),
                        detail: "sealing key \(old.currentID) replaced by \(newID); \(result.resealed) session(s) re-sealed, \(result.unreadable.count) unreadable left as they were"))
                    pauseForTest("before-commit")
                    return result
                }
                sealer = SealingKeyring([replacement])
                pauseForTest("after-commit")
                if case .file(let keyPath) = keySource {
                    // No row needs the old key now. Under the write lock, so a concurrent rekey's
                    // file is never replaced by this one's.
                    try db.immediateTransaction {
                        let recorded = try db.queryOne("SELECT value FROM registry_meta WHERE key = 'sealing_key_id'")?.string(0)
                        if recorded == result.newKeyID { try SealingKeyLoader.replaceKeyFile(keyPath, keys: [key]) }
                    }
                }
                result.keySource = keySource
                return result
            }
        } catch {
            throw RegistryError.from(any: error, path: path)
        }
    }

    private func pauseForTest(_ point: String) {
        guard environment[Self.rekeyPauseVariable] == point else { return }
        FileHandle.standardError.write(Data("ocp-sessions: test hook: rekey paused \(point)\n".utf8))
        sleep(60)
    }
}
