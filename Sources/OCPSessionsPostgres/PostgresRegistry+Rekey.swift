import Foundation
import OCPSessions

extension PostgresRegistry: RekeyableRegistry {
    /// Re-seals every session with `newKey` and records its id, in one transaction that locks every
    /// account (docs/postgres-design.md, rule 4). The key is shared by every host, so it must be
    /// given (nil is refused) and no key file is written: every host must then be given the new key
    /// (or a list holding both); until then its writes fail with "sealed with another key".
    public func rekey(newKey: [UInt8]?) throws(RegistryError) -> RekeyResult {
        guard let newKey else {
            throw .badKey("a PostgreSQL registry's key is shared by every host, so the new key must be given: OCP_SESSIONS_NEW_KEY or --new-key-file (base64 of 32 random bytes)")
        }
        let replacement = try TokenSealer(keyBytes: newKey)
        let newID = SealingKeyring([replacement]).currentID
        do {
            return try lock.withLock { () throws -> RekeyResult in
                try bridge.ensureOpen()
                return try bridge.transaction {
                    let transaction = PostgresTransaction(bridge: bridge, writing: true, liveness: liveness)
                    try transaction.run("SELECT id FROM accounts ORDER BY id FOR NO KEY UPDATE")
                    // After the locks: no other host's write can change the recorded key meanwhile.
                    try syncSealingKey(recorded: try transaction.run("SELECT value FROM registry_meta WHERE key = 'sealing_key_id'")
                        .rows.first.flatMap { PostgresCells($0).string(0) }, writing: true)
                    let old = sealer
                    guard newID != old.currentID else { throw RegistryError.badKey("the new key is the registry's current key") }
                    // The id first: the trigger accepts only rows sealed with the recorded key.
                    try transaction.change("""
                        INSERT INTO registry_meta (key, value) VALUES ('sealing_key_id', $1)
                        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                        """, [.text(newID)])
                    var result = RekeyResult(oldKeyID: old.currentID, newKeyID: newID, resealed: 0, unreadable: [], keySource: keySource)
                    for row in try transaction.run("SELECT id, access_token, refresh_token FROM sessions ORDER BY id").rows {
                        let cells = PostgresCells(row)
                        let id = cells.string(0) ?? ""
                        guard let access = try? old.open(cells.bytes(1) ?? [], sessionID: id),
                              let refresh = try? old.open(cells.bytes(2) ?? [], sessionID: id)
                        else {
                            result.unreadable.append(id)
                            continue
                        }
                        try transaction.change("UPDATE sessions SET access_token = $1, refresh_token = $2 WHERE id = $3", [
                            .bytes(try replacement.seal(access, sessionID: id)),
                            .bytes(try replacement.seal(refresh, sessionID: id)), .text(id),
                        ])
                        result.resealed += 1
                    }
                    try transaction.appendEvent(EventRecord(
                        at: Date().timeIntervalSince1970, accountID: nil, kind: .rekey, pid: Int(getpid()),
                        detail: "sealing key \(old.currentID) replaced by \(newID); \(result.resealed) session(s) re-sealed, \(result.unreadable.count) unreadable left as they were"))
                    keyLock.withLock { keyring = SealingKeyring([replacement]) }
                    return result
                }
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw PostgresRegistryError.map(error, settings: settings, doing: "rekeying")
        }
    }
}
