import Foundation
import Testing
import PostgresNIO
@testable import OCPSessions
@testable import OCPSessionsPostgres

/// `migrate-registry`'s copy (the library half) and `rekey` on PostgreSQL.
@Suite("SQLite registry copied into PostgreSQL", TestCluster.required)
struct PostgresRegistryImportTests {
    let key = Data(repeating: 7, count: 32).base64EncodedString()
    let holder = HolderIdentity(pid: 4242, startTime: 17, bootID: "boot-a", host: "host-a", label: "nightly")
    let account = AccountKey(host: "iam.example", realm: "r", username: "u")

    /// A SQLite registry with two sessions, a lease, a login, a waiter and 3 events.
    func makeSQLiteRegistry(_ directory: URL) throws -> (path: String, accountID: Int64) {
        let path = directory.appendingPathComponent("registry.sqlite").path
        let registry = try SQLiteRegistry(path: path, environment: ["OCP_SESSIONS_KEY": key])
        let accountID = try registry.write { tx -> Int64 in
            let record = try tx.upsertAccount(account, limit: 5, reserve: 1, now: 1)
            for id in ["s-1", "s-2"] {
                let session = SessionRecord(id: id, accessExpiresAt: 1_000, refreshExpiresAt: 2_000, createdAt: 10,
                                            lastUsedAt: 11, lastRefreshedAt: 12, handedOutUntil: 900)
                try tx.insertSession(session, tokens: SealedTokens(
                    access: try registry.sealer.seal("access-\(id)", sessionID: id),
                    refresh: try registry.sealer.seal("refresh-\(id)", sessionID: id)), accountID: record.id)
            }
            try tx.insertLease(LeaseRecord(id: "l-1", sessionID: "s-1", shared: true, holder: holder,
                                           acquiredAt: 20, expiresAt: 920), accountID: record.id)
            try tx.insertLogin(LoginRecord(id: "g-1", holder: holder, startedAt: 30, deadline: 60), accountID: record.id)
            _ = try tx.enqueueWaiter(accountID: record.id, holder: holder, now: 40)
            for kind in [EventRecord.Kind.login, .lease, .refresh] {
                try tx.appendEvent(EventRecord(at: 50, accountID: record.id, kind: kind, sessionID: "s-1"))
            }
            return record.id
        }
        return (path, accountID)
    }

    @Test("rows, sealed tokens and the key id are copied; tokens open with the same key; holders read as dead; a second copy is refused")
    func copies() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ocp-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, sqliteAccountID) = try makeSQLiteRegistry(directory)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }

        let counts = try PostgresRegistryImport.copy(try SQLiteRegistryExport.read(path: path), to: settings)
        #expect(counts.accounts == 1 && counts.sessions == 2 && counts.leases == 1 && counts.logins == 1)
        #expect(counts.events == 3 && counts.waitersDropped == 1)
        #expect(counts.sealingKeyID == SealingKeyring(try SealingKeyLoader.parseKeys(key, origin: "test")).currentID)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "the SQLite file is left as it was")

        let registry = try PostgresRegistry(settings: settings, environment: ["OCP_SESSIONS_KEY": key])
        let record = try #require(try registry.read { try $0.account(account) })
        #expect(record.id == sqliteAccountID && record.sessionLimit == 5 && record.reserve == 1)
        let snapshot = try #require(try registry.read { try $0.snapshot(accountID: record.id) })
        #expect(snapshot.sessions.map(\.id).sorted() == ["s-1", "s-2"])
        #expect(snapshot.leases.map(\.id) == ["l-1"] && snapshot.leases.first?.holder == holder && snapshot.leases.first?.shared == true)
        #expect(snapshot.logins.map(\.id) == ["g-1"])
        #expect(snapshot.waiters.isEmpty)
        // holder_lock 0: no connection holds it, so the copied holders read as dead.
        #expect(!registry.liveness.isAlive(holder))
        for id in ["s-1", "s-2"] {
            let tokens = try #require(try registry.read { try $0.sealedTokens(sessionID: id) })
            #expect(try registry.sealer.open(tokens.access, sessionID: id) == "access-\(id)")
            #expect(try registry.sealer.open(tokens.refresh, sessionID: id) == "refresh-\(id)")
        }
        // The sequences moved past the copied ids: new rows get new ones.
        let other = try registry.write { try $0.upsertAccount(AccountKey(host: "iam.example", realm: "r", username: "v"), limit: 5, reserve: 0, now: 2) }
        #expect(other.id > record.id)
        let events = try registry.read { try $0.events(since: 0, accountID: nil, afterID: nil, limit: 10) }
        #expect(events.map(\.kind) == [.login, .lease, .refresh])

        // A second copy is never merged.
        #expect(throws: RegistryError.self) {
            try PostgresRegistryImport.copy(try SQLiteRegistryExport.read(path: path), to: settings)
        }
        #expect(try registry.read { try $0.accounts() }.count == 2)
    }

    @Test("rekey on PostgreSQL re-seals every session and records the new id; the old key is then refused")
    func rekey() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let registry = try PostgresRegistry(settings: settings, environment: ["OCP_SESSIONS_KEY": key])
        try registry.write { tx in
            let record = try tx.upsertAccount(account, limit: 5, reserve: 0, now: 1)
            let session = SessionRecord(id: "s-1", accessExpiresAt: 1_000, refreshExpiresAt: 2_000, createdAt: 10,
                                        lastUsedAt: 11, lastRefreshedAt: 12, handedOutUntil: 0)
            try tx.insertSession(session, tokens: SealedTokens(
                access: try registry.sealer.seal("a", sessionID: "s-1"), refresh: try registry.sealer.seal("r", sessionID: "s-1")),
                accountID: record.id)
        }
        #expect(throws: RegistryError.self) { try registry.rekey(newKey: nil) }
        let newKey = [UInt8](repeating: 3, count: 32)
        let result = try registry.rekey(newKey: newKey)
        #expect(result.resealed == 1 && result.unreadable.isEmpty && result.newKeyID != result.oldKeyID)
        let rekeyed = try PostgresRegistry(settings: settings, environment: ["OCP_SESSIONS_KEY": Data(newKey).base64EncodedString()])
        let tokens = try #require(try rekeyed.read { try $0.sealedTokens(sessionID: "s-1") })
        #expect(try rekeyed.sealer.open(tokens.access, sessionID: "s-1") == "a")
        let stale = try PostgresRegistry(settings: settings, environment: ["OCP_SESSIONS_KEY": key])
        #expect(throws: RegistryError.self) { try stale.write { try $0.upsertAccount(account, limit: 5, reserve: 0, now: 3) } }
    }
}
