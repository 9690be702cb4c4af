import Foundation
import Testing
@testable import OCPSessions

@Suite("Registry file, schema and sealing")
struct RegistryTests {
    let key = Data(repeating: 7, count: 32).base64EncodedString()

    /// The error opening `path` gives, or nil if it opened.
    func openError(_ path: String) -> RegistryError? {
        do {
            _ = try SQLiteRegistry(path: path, environment: ["OCP_SESSIONS_KEY": key])
            return nil
        } catch {
            return error
        }
    }

    @Test("a fresh file is migrated to the latest schema, private, in WAL mode")
    func freshFile() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let path = dir + "/state/registry.sqlite"
        let registry = try SQLiteRegistry(path: path, environment: [:])
        #expect(registry.schemaVersion == Migrations.latestVersion)
        #expect(registry.keySource == .file(path + ".key"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let keyMode = try FileManager.default.attributesOfItem(atPath: path + ".key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let dirMode = try FileManager.default.attributesOfItem(atPath: dir + "/state")[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        let journal = registry.withDatabase { try? $0.queryOne("PRAGMA journal_mode")?.string(0) }
        #expect(journal == "wal")
        let applied = registry.withDatabase { try? $0.query("SELECT version FROM schema_migrations").count }
        #expect(applied == Migrations.all.count)
        // Reopening is the warm path: no migration, same version.
        let again = try SQLiteRegistry(path: path, environment: [:])
        #expect(again.schemaVersion == Migrations.latestVersion)
    }

    @Test("every SQLite file in Migrations/ is listed, in order, and numbered from 1")
    func migrationListMatchesFiles() throws {
        // The `pg_` files are PostgreSQL's (PostgresMigrationTests).
        let files = try FileManager.default.contentsOfDirectory(
            atPath: TestPaths.packageRoot.appendingPathComponent("Migrations").path
        ).filter { $0.hasSuffix(".sql") && !$0.hasPrefix("pg_") }.sorted()
        #expect(files == Migrations.all.map(\.name))
        #expect(Migrations.all.map(\.version) == Array(1...Migrations.all.count))
        for migration in Migrations.all {
            let onDisk = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("Migrations/\(migration.name)"), encoding: .utf8)
            #expect(String(decoding: migration.sql, as: UTF8.self) == onDisk, "embedded copy of \(migration.name) is stale")
        }
    }

    @Test("a registry from a newer, incompatible release is refused and left untouched")
    func newerSchemaRefused() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let path = dir + "/registry.sqlite"
        _ = try SQLiteRegistry(path: path, environment: ["OCP_SESSIONS_KEY": key])
        let db = try Database(path: path)
        try db.execute("PRAGMA user_version = 99; UPDATE registry_meta SET value = '50' WHERE key = 'compatible_from'")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = openError(path)
        guard case .newerSchema(let message)? = error else { Issue.record("wrong error \(String(describing: error))"); return }
        #expect(message.contains("upgrade ocp-sessions"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test("a newer release whose schema is still compatible is used as is")
    func newerCompatibleSchemaAccepted() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let path = dir + "/registry.sqlite"
        _ = try SQLiteRegistry(path: path, environment: ["OCP_SESSIONS_KEY": key])
        let db = try Database(path: path)
        let newer = Migrations.latestVersion + 1
        try db.execute("PRAGMA user_version = \(newer); UPDATE registry_meta SET value = '1' WHERE key = 'compatible_from'")
        let registry = try SQLiteRegistry(path: path, environment: ["OCP_SESSIONS_KEY": key])
        #expect(registry.schemaVersion == newer)
    }

    @Test("a file that is not SQLite is refused with a clear error and never overwritten")
    func notSQLite() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let path = dir + "/registry.sqlite"
        let junk = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        #expect(FileManager.default.createFile(atPath: path, contents: junk, attributes: [.posixPermissions: 0o600]))
        let error = openError(path)
        guard case .corrupt(let message)? = error else { Issue.record("wrong error \(String(describing: error))"); return }
        #expect(message.contains("left untouched"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == junk)
    }

    @Test("a registry readable by others is refused")
    func looseModesRefused() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let path = dir + "/registry.sqlite"
        _ = try SQLiteRegistry(path: path, environment: ["OCP_SESSIONS_KEY": key])
        chmod(path, 0o644)
        #expect(throws: RegistryError.self) { try SQLiteRegistry(path: path, environment: ["OCP_SESSIONS_KEY": key]) }
    }

    @Test("a registry in a directory that cannot be created gives a permission error")
    func missingDirectory() throws {
        #expect(throws: RegistryError.self) {
            try SQLiteRegistry(path: "/proc/ocp-sessions-test/registry.sqlite", environment: ["OCP_SESSIONS_KEY": key])
        }
    }

    @Test("sealed tokens open only with the same key and the same row")
    func sealing() throws {
        let sealer = try TokenSealer(keyBytes: Array(repeating: 1, count: 32))
        let other = try TokenSealer(keyBytes: Array(repeating: 2, count: 32))
        let sealed = try sealer.seal("secret-token-value", sessionID: "session-a")
        #expect(try sealer.open(sealed, sessionID: "session-a") == "secret-token-value")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("secret-token-value"))
        #expect(throws: RegistryError.self) { try other.open(sealed, sessionID: "session-a") }
        #expect(throws: RegistryError.self) { try sealer.open(sealed, sessionID: "session-b") }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(throws: RegistryError.self) { try sealer.open(tampered, sessionID: "session-a") }
        #expect(throws: RegistryError.self) { try TokenSealer(keyBytes: [1, 2, 3]) }
    }

    @Test("OCP_SESSIONS_KEY must be base64 of 32 bytes")
    func environmentKey() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let registry = try SQLiteRegistry(path: dir + "/r.sqlite", environment: ["OCP_SESSIONS_KEY": key])
        #expect(registry.keySource == .environment)
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.sqlite.key"))
        #expect(throws: RegistryError.self) {
            try SQLiteRegistry(path: dir + "/r2.sqlite", environment: ["OCP_SESSIONS_KEY": "not base64!"])
        }
    }

    @Test("concurrent first opens of one file all succeed (migration under BEGIN IMMEDIATE)")
    func concurrentFirstOpen() async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let path = dir + "/registry.sqlite"
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { try SQLiteRegistry(path: path, environment: ["OCP_SESSIONS_KEY": key]).schemaVersion }
            }
            for try await version in group { #expect(version == Migrations.latestVersion) }
        }
    }

    @Test("the account keeps the most conservative limit and reserve of its callers")
    func conservativeLimits() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let registry = try SQLiteRegistry(path: dir + "/r.sqlite", environment: ["OCP_SESSIONS_KEY": key])
        let account = AccountKey(host: "https://iam.example.com/", realm: "master", username: "alice")
        try registry.write { tx in
            _ = try tx.upsertAccount(account, limit: 5, reserve: 0, now: 1)
            _ = try tx.upsertAccount(account, limit: 3, reserve: 0, now: 2)
            let record = try tx.upsertAccount(account, limit: 5, reserve: 1, now: 3)
            #expect(record.sessionLimit == 3)
            #expect(record.reserve == 1)
            #expect(record.key.host == "https://iam.example.com")
        }
    }
}
