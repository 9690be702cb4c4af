import Foundation
import KeycloakSimulator
import Testing
@testable import OCPSessions

@Suite("rekey: rotating the sealing key")
struct RekeyTests {
    /// The registry's recorded sealing key id.
    static func recordedKeyID(_ path: String, key: String? = nil) throws -> String? {
        let db = try Database(path: path)
        return try db.queryOne("SELECT value FROM registry_meta WHERE key = 'sealing_key_id'")?.string(0)
    }

    @Test("rekey twice while 6 worker processes run: no failed call, no session lost, no extra login")
    func rekeyUnderLoad() async throws {
        try await withCLI("rekey-load", { config in
            // Short-lived access tokens: the workers refresh (and write re-sealed tokens) during the run.
            config.accessTokenLifespan = 3
            config.revokeRefreshToken = true
            config.sessionLimit = 5
        }) { simulator, cli in
            let protected = simulator.realmURL + "/sim/protected"
            let workers = try (0..<6).map { _ in
                try cli.start(["worker", "--cycles", "0", "--duration", "9", "--protected-url", protected,
                               "--min-validity", "1", "--hold-ms", "20"])
            }
            let keyFile = cli.directory + "/registry.sqlite.key"
            // Let the workers log in and hand out tokens first.
            try await Task.sleep(nanoseconds: 2_500_000_000)
            var keyIDs: [String] = []
            for _ in 0..<2 {
                let rekey = try await cli.run(["rekey", "--json"])
                #expect(rekey.status == 0, "\(rekey.stderr)")
                let object = rekey.json as? [String: Any]
                keyIDs.append(object?["new_key_id"] as? String ?? "")
                #expect((object?["resealed"] as? Int ?? 0) >= 1, "\(rekey.stdout)")
                #expect((object?["unreadable"] as? [Any])?.isEmpty == true)
                #expect(SecurityCheck.keyLines(keyFile).count == 1)
                try await Task.sleep(nanoseconds: 2_000_000_000)
            }
            var total = 0
            for worker in workers {
                let finished = try await worker.finish(timeout: 60)
                let result = WorkerResult(status: finished.status, output: Data(finished.stdout.utf8))
                #expect(finished.status == 0, "\(finished.stderr)")
                #expect(result.callsFailed == 0, "\(result.errors)")
                #expect(result.callsOK > 0)
                total += result.callsOK
            }
            let stats = simulator.statistics()
            // Every session outlived both rekeys: at most one login per slot, none repeated.
            #expect(stats.logins <= 5, "logins \(stats.logins)")
            #expect(stats.refreshes > 0)
            #expect(stats.deadTokenRequests == 0)
            #expect(stats.reuseDetections == 0)
            #expect(Set(keyIDs).count == 2)
            #expect(try Self.recordedKeyID(cli.directory + "/registry.sqlite") == keyIDs.last)
            // Every row opens with the key file's one key.
            let registry = try SQLiteRegistry(path: cli.directory + "/registry.sqlite", environment: [:])
            #expect(registry.sealer.keys.count == 1)
            let rows = try registry.withDatabase { try $0.query("SELECT id, access_token, refresh_token FROM sessions") }
            #expect(!rows.isEmpty)
            for row in rows {
                let id = row.string(0) ?? ""
                #expect(throws: Never.self) { _ = try registry.sealer.open(row.blob(1) ?? [], sessionID: id) }
                #expect(throws: Never.self) { _ = try registry.sealer.open(row.blob(2) ?? [], sessionID: id) }
            }
            print("rekey under load: 6 workers, \(total) calls ok, \(stats.logins) logins, \(stats.refreshes) refreshes, 2 rekeys")
        }
    }

    @Test("after rekey the old key no longer opens the registry; the new one works without a new login")
    func oldKeyFailsAfterRekey() async throws {
        try await withCLI("rekey-old-key") { simulator, cli in
            let keyFile = cli.directory + "/registry.sqlite.key"
            #expect(try await cli.run(["token"]).status == 0)
            let oldKey = SecurityCheck.keyLines(keyFile).first ?? ""
            let rekey = try await cli.run(["rekey"])
            #expect(rekey.status == 0, "\(rekey.stderr)")
            #expect(rekey.stdout.contains("re-sealed 1 session(s)"), "\(rekey.stdout)")
            let newKey = SecurityCheck.keyLines(keyFile).first ?? ""
            #expect(newKey != oldKey && !newKey.isEmpty)
            SecurityCheck.expectOneLineFailure(
                try await cli.run(["token"], env: ["OCP_SESSIONS_KEY": oldKey]), 78, "sealed with another key")
            #expect(try await cli.run(["token"]).status == 0)
            #expect(try await cli.run(["token"], env: ["OCP_SESSIONS_KEY": newKey]).status == 0)
            #expect(simulator.statistics().logins == 1)
        }
    }

    @Test("with OCP_SESSIONS_KEY, rekey takes the new key from the environment or a file, never argv, and says what to change")
    func environmentKeyRekey() async throws {
        try await withCLI("rekey-env") { simulator, cli in
            let oldKey = Data(repeating: 3, count: 32).base64EncodedString()
            let newKey = Data(repeating: 4, count: 32).base64EncodedString()
            let env: [String: String?] = ["OCP_SESSIONS_KEY": oldKey]
            #expect(try await cli.run(["token"], env: env).status == 0)
            SecurityCheck.expectOneLineFailure(try await cli.run(["rekey"], env: env), 78, "OCP_SESSIONS_NEW_KEY")
            // A new key file others can read is refused like the key file.
            let loose = cli.directory + "/new.key"
            _ = FileManager.default.createFile(atPath: loose, contents: Data((newKey + "\n").utf8), attributes: [.posixPermissions: 0o644])
            SecurityCheck.expectOneLineFailure(try await cli.run(["rekey", "--new-key-file", loose], env: env), 78, "other users")
            let onArgv = try await cli.run(["rekey", "--new-key", newKey], env: env)
            SecurityCheck.expectOneLineFailure(onArgv, 64, "new-key")
            #expect(!onArgv.stderr.contains(newKey))
            let rekey = try await cli.run(["rekey"], env: ["OCP_SESSIONS_KEY": oldKey, "OCP_SESSIONS_NEW_KEY": newKey])
            #expect(rekey.status == 0, "\(rekey.stderr)")
            #expect(rekey.stdout.contains("set OCP_SESSIONS_KEY to the new key"), "\(rekey.stdout)")
            #expect(!rekey.stdout.contains(newKey) && !rekey.stderr.contains(newKey))
            #expect(!FileManager.default.fileExists(atPath: cli.directory + "/registry.sqlite.key"))
            SecurityCheck.expectOneLineFailure(try await cli.run(["token"], env: env), 78, "sealed with another key")
            #expect(try await cli.run(["token"], env: ["OCP_SESSIONS_KEY": newKey]).status == 0)
            // A list holding both keys works during the switch.
            #expect(try await cli.run(["token"], env: ["OCP_SESSIONS_KEY": "\(oldKey),\(newKey)"]).status == 0)
            // Rekeying back, from a private file.
            let file = cli.directory + "/back.key"
            _ = FileManager.default.createFile(atPath: file, contents: Data((oldKey + "\n").utf8), attributes: [.posixPermissions: 0o600])
            #expect(try await cli.run(["rekey", "--new-key-file", file], env: ["OCP_SESSIONS_KEY": newKey]).status == 0)
            #expect(try await cli.run(["token"], env: env).status == 0)
            #expect(simulator.statistics().logins == 1)
        }
    }

    @Test("rekey killed (SIGKILL) before or after its commit loses nothing; a later rekey finishes the job")
    func crashDuringRekey() async throws {
        try await withCLI("rekey-crash") { simulator, cli in
            let registry = cli.directory + "/registry.sqlite"
            let keyFile = registry + ".key"
            #expect(try await cli.run(["token"]).status == 0)
            let before = try Self.recordedKeyID(registry)
            for point in ["before-commit", "after-commit"] {
                let running = try cli.start(["rekey"], env: [SQLiteRegistry.rekeyPauseVariable: point])
                #expect(try await SecurityCheck.waitFor("rekey paused \(point)", in: running.stderrPath))
                // The worst moments: both keys in the file, the switch written but not committed
                // (or committed, the old key not yet dropped).
                #expect(SecurityCheck.keyLines(keyFile).count == 2)
                kill(running.pid, SIGKILL)
                _ = try await running.finish()
                let recorded = try Self.recordedKeyID(registry)
                if point == "before-commit" { #expect(recorded == before) } else { #expect(recorded != before) }
                #expect(SecurityCheck.keyLines(keyFile).count == 2)
                let token = try await cli.run(["token"])
                #expect(token.status == 0, "\(point): \(token.stderr)")
                #expect(try await cli.run(["token", "--force-refresh"]).status == 0)
            }
            let rekey = try await cli.run(["rekey"])
            #expect(rekey.status == 0, "\(rekey.stderr)")
            #expect(SecurityCheck.keyLines(keyFile).count == 1)
            #expect(try await cli.run(["token", "--force-refresh"]).status == 0)
            #expect(simulator.statistics().logins == 1)
            #expect(simulator.statistics().refreshes == 3)
        }
    }

    @Test("OCP_SESSIONS_KEY=OLD,NEW everywhere, then rekey to NEW: 4 running workers never fail")
    func environmentListRollover() async throws {
        try await withCLI("rekey-env-list", { config in config.accessTokenLifespan = 3 }) { simulator, cli in
            let oldKey = Data(repeating: 5, count: 32).base64EncodedString()
            let newKey = Data(repeating: 6, count: 32).base64EncodedString()
            let first = try await cli.run(["token", "--min-validity", "1"], env: ["OCP_SESSIONS_KEY": oldKey])
            #expect(first.status == 0, "\(first.stderr)")
            let both: [String: String?] = ["OCP_SESSIONS_KEY": "\(oldKey),\(newKey)"]
            let protected = simulator.realmURL + "/sim/protected"
            let workers = try (0..<4).map { _ in
                try cli.start(["worker", "--cycles", "0", "--duration", "5", "--protected-url", protected,
                               "--min-validity", "1", "--hold-ms", "20"], env: both)
            }
            try await Task.sleep(nanoseconds: 1_500_000_000)
            let rekey = try await cli.run(["rekey"], env: ["OCP_SESSIONS_KEY": "\(oldKey),\(newKey)", "OCP_SESSIONS_NEW_KEY": newKey])
            #expect(rekey.status == 0, "\(rekey.stderr)")
            for worker in workers {
                let finished = try await worker.finish(timeout: 60)
                let result = WorkerResult(status: finished.status, output: Data(finished.stdout.utf8))
                #expect(finished.status == 0, "\(finished.stderr)")
                #expect(result.callsFailed == 0, "\(result.errors)")
            }
            SecurityCheck.expectOneLineFailure(try await cli.run(["token", "--min-validity", "1"], env: ["OCP_SESSIONS_KEY": oldKey]), 78, "sealed with another key")
            #expect(try await cli.run(["token", "--min-validity", "1"], env: ["OCP_SESSIONS_KEY": newKey]).status == 0)
            #expect(simulator.statistics().logins <= 4)
        }
    }

    @Test("three concurrent rekeys serialise: the key file ends with the recorded key alone, nothing lost")
    func concurrentRekeys() async throws {
        try await withCLI("rekey-concurrent") { simulator, cli in
            #expect(try await cli.run(["token"]).status == 0)
            let running = try (0..<3).map { _ in try cli.start(["rekey", "--json"]) }
            var ids: [String] = []
            for rekey in running {
                let result = try await rekey.finish()
                #expect(result.status == 0, "\(result.stderr)")
                ids.append((result.json as? [String: Any])?["new_key_id"] as? String ?? "")
            }
            let registry = cli.directory + "/registry.sqlite"
            let recorded = try Self.recordedKeyID(registry)
            #expect(Set(ids).count == 3)
            #expect(ids.contains(recorded ?? "-"))
            let lines = SecurityCheck.keyLines(registry + ".key")
            #expect(lines.count == 1)
            let fileKey = try SealingKeyLoader.parseKeys(lines.first ?? "", origin: "test")
            #expect(SealingKeyring(fileKey).currentID == recorded)
            #expect(try await cli.run(["token", "--force-refresh"]).status == 0)
            #expect(simulator.statistics().logins == 1)
        }
    }

    @Test("a release before schema 3 cannot write a row sealed with a stale key: the trigger refuses it")
    func triggerRefusesStaleKey() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let path = dir + "/registry.sqlite"
        let registry = try SQLiteRegistry(path: path, environment: [:])
        try registry.write { tx in _ = try tx.upsertAccount(AccountKey(host: "h", realm: "r", username: "u"), limit: 5, reserve: 0, now: 0) }
        let stale = try TokenSealer(keyBytes: Array(repeating: 9, count: 32))
        let db = try Database(path: path)
        #expect(throws: SQLiteError.self) {
            try db.run("""
                INSERT INTO sessions (id, account_id, client_id, state, access_token, refresh_token, access_expires_at,
                    created_at, last_used_at, last_refreshed_at) VALUES ('s', 1, 'ocp', 'active', ?, ?, 0, 0, 0, 0)
                """, [.blob(try stale.seal("a", sessionID: "s")), .blob(try stale.seal("r", sessionID: "s"))])
        }
        let current = registry.sealer
        #expect(throws: Never.self) {
            try db.run("""
                INSERT INTO sessions (id, account_id, client_id, state, access_token, refresh_token, access_expires_at,
                    created_at, last_used_at, last_refreshed_at) VALUES ('s', 1, 'ocp', 'active', ?, ?, 0, 0, 0, 0)
                """, [.blob(try current.seal("a", sessionID: "s")), .blob(try current.seal("r", sessionID: "s"))])
        }
    }
}
