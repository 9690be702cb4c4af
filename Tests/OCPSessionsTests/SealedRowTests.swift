import Foundation
import KeycloakSimulator
import Testing
@testable import OCPSessions

@Suite("Sealed tokens bound to their row, in a real registry")
struct SealedRowTests {
    @Test("a sealed token copied into another session's row is never handed out nor used for a logout: exit 78 naming the row")
    func copiedSealedColumn() async throws {
        try await withCLI("sealed-row") { simulator, cli in
            // Two real sessions: one held by an exec while a token call logs in the second.
            let holder = try cli.start(["exec", "--", "sleep", "6"])
            var leased = false
            for _ in 0..<200 where !leased {
                let list = try await cli.run(["list", "--json"])
                leased = (list.json as? [[String: Any]])?.contains { $0["state"] as? String == "leased" } == true
                if !leased { try await Task.sleep(nanoseconds: 20_000_000) }
            }
            #expect(leased)
            #expect(try await cli.run(["token"]).status == 0)
            #expect(try await holder.finish().status == 0)
            let registry = cli.directory + "/registry.sqlite"
            let db = try Database(path: registry)
            let ids = try db.query("SELECT id FROM sessions ORDER BY created_at").compactMap { $0.string(0) }
            #expect(ids.count == 2)
            guard ids.count == 2 else { return }
            let (victim, donor) = (ids[0], ids[1])
            // Copy the donor's sealed columns over the victim's, then drop the donor's row so that the
            // victim is the only session an acquire can pick.
            try db.execute("""
                UPDATE sessions SET access_token = (SELECT access_token FROM sessions WHERE id = '\(donor)'),
                    refresh_token = (SELECT refresh_token FROM sessions WHERE id = '\(donor)') WHERE id = '\(victim)';
                DELETE FROM sessions WHERE id = '\(donor)'
                """)
            let logoutsBefore = simulator.statistics().logouts
            let token = try await cli.run(["token", "--wait", "5"])
            SecurityCheck.expectOneLineFailure(token, 78, "session \(victim): its sealed token does not open with this key and row")
            #expect(token.stderr.contains("copied from another session's row"))
            // The same with the library: a clear error, no crash, and the row left as it was.
            let pool = SessionPool(registry: try SQLiteRegistry(path: registry, environment: [:]), connector: KeycloakConnector())
            let account = AccountConfiguration(host: simulator.baseURL, username: "alice", maxSessions: 1, password: .constant("alice-pass"))
            do {
                _ = try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 2))
                Issue.record("a lease on a row whose token does not open")
            } catch let error as OCPSessionsError {
                #expect(error.kind == .configuration)
                #expect(error.message.contains(victim))
            }
            await pool.shutdown()
            // A logout needs the refresh token: revoke says it cannot, and logs nothing out.
            let revoke = try await cli.run(["revoke", "--force", victim])
            #expect(revoke.status == 1)
            #expect(revoke.stdout.hasPrefix("failed: \(victim)"), "\(revoke.stdout)")
            #expect(revoke.stdout.contains("does not open"))
            #expect(simulator.statistics().logouts == logoutsBefore)
            #expect(try db.queryOne("SELECT COUNT(*) FROM sessions WHERE id = '\(victim)'")?.int(0) == 1)
            #expect(simulator.liveSessions(username: "alice").count == 2)
        }
    }
}
