import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// A holder killed with SIGKILL gives its slot back: the next caller finds the holder dead (pid gone
/// or reused) and reuses the session, with no extra login.
@Suite("Crash recovery", .serialized)
struct CrashRecoveryTests {
    @Test("a lease whose holder was SIGKILLed is reclaimed and its session reused")
    func killedHolder() async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in config.sessionLimit = 1 }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let (holder, _) = try fleet.start(["worker", "--cycles", "1", "--hold-ms", "60000", "--max-sessions", "1"])
            // Wait until the holder holds its lease.
            var leased = false
            for _ in 0..<200 where !leased {
                try await Task.sleep(nanoseconds: 25_000_000)
                leased = (try? fleet.openRegistry().read { tx in
                    try tx.accounts().contains { try tx.snapshot(accountID: $0.id)?.leases.isEmpty == false }
                }) ?? false
            }
            #expect(leased)
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
            let started = Date()
            let results = try await fleet.run(count: 1, cycles: 1, extra: ["--max-sessions", "1", "--wait", "5"])
            #expect(results.first?.callsOK == 1, "errors: \(results.first?.errors ?? [:])")
            #expect(Date().timeIntervalSince(started) < 2)
            let stats = simulator.statistics()
            #expect(stats.logins == 1)
            #expect(stats.denials == 0)
            #expect((stats.highWaterMark["alice"] ?? 0) <= 1)
        } }
    }


    @Test("a login whose process was SIGKILLed in flight keeps counting until the account API proves it gone")
    func killedWhileLoggingIn() async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in config.sessionLimit = 2 }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let limit = ["--max-sessions", "2", "--min-validity", "5"]
            // One session exists and is held for the whole test.
            let (keeper, _) = try fleet.start(["worker", "--cycles", "1", "--hold-ms", "60000"] + limit)
            defer { kill(keeper.processIdentifier, SIGKILL); keeper.waitUntilExit() }
            #expect(try await eventually { simulator.statistics().logins == 1 })
            // The next login is processed at the IAM, but its answer is held: the caller dies with
            // the session created and no token in the registry.
            simulator.hold(.login)
            let (victim, _) = try fleet.start(["worker", "--cycles", "1"] + limit)
            #expect(try await eventually { simulator.heldCount(.login) == 1 })
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
            simulator.releaseHeld()
            #expect(simulator.liveSessions(username: "alice").count == 2)
            // A third caller: the registry counts 1 session + 1 lost login = the limit, so it must not
            // log in blindly; it asks the account API, ends the orphan there, then logs in.
            let results = try await fleet.run(count: 1, cycles: 1, extra: limit + ["--wait", "10"])
            #expect(results.first?.callsOK == 1, "errors: \(results.first?.errors ?? [:])")
            let stats = simulator.statistics()
            #expect((stats.highWaterMark["alice"] ?? 0) <= 2)
            #expect(stats.denials == 0)
            #expect(stats.logins == 3)
            let atIAM = Set(simulator.liveSessions(username: "alice").map(\.id))
            #expect(try fleet.registrySessionIDs() == atIAM)
            let events = try fleet.openRegistry().read { try $0.events(since: 0, accountID: nil, afterID: nil, limit: 1000) }
            #expect(events.contains { $0.kind == .reconcile && $0.detail.contains("1 orphan session") })
        } }
    }

    @Test("a refresh whose process was SIGKILLed after the IAM rotated the token: logout, then a new login")
    func killedWhileRefreshing() async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in
            config.sessionLimit = 1
            config.revokeRefreshToken = true
            config.accessTokenLifespan = 60
        }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let limit = ["--max-sessions", "1"]
            _ = try await fleet.run(count: 1, cycles: 1, extra: limit + ["--min-validity", "1"])
            #expect(simulator.statistics().logins == 1)
            // A forced refresh; its answer is held after the IAM rotated the refresh token, and the
            // refresher dies.
            simulator.hold(.refresh)
            let (victim, _) = try fleet.start(["worker", "--cycles", "1", "--force-refresh"] + limit)
            #expect(try await eventually { simulator.heldCount(.refresh) == 1 })
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
            simulator.releaseHeld()
            // The registry still holds the consumed refresh token. The next caller reclaims the dead
            // lease and its claim, gets a reuse error, logs the session out (204 clears it even
            // detached) and logs in again, without the caller seeing an error.
            let results = try await fleet.run(count: 1, cycles: 1, extra: limit + ["--force-refresh", "--wait", "10"])
            #expect(results.first?.callsOK == 1, "errors: \(results.first?.errors ?? [:])")
            let stats = simulator.statistics()
            #expect((stats.highWaterMark["alice"] ?? 0) <= 1)
            #expect(stats.denials == 0)
            #expect(stats.logins == 2)
            #expect(stats.deadTokenRequests == 0)
            // The path under test really ran: the stale token was refused as a reuse.
            #expect(stats.refreshErrors["Maximum allowed refresh token reuse exceeded", default: 0] == 1,
                    "refresh errors: \(stats.refreshErrors)")
            let atIAM = Set(simulator.liveSessions(username: "alice").map(\.id))
            #expect(atIAM.count == 1)
            #expect(try fleet.registrySessionIDs() == atIAM)
        } }
    }

    @Test("a logout whose process was SIGKILLed is retried at once: the slot is back within 2 s")
    func killedWhileLoggingOut() async throws {
        try await withCLI("ocp-crash", { $0.sessionLimit = 1 }) { simulator, cli in
            let limit = ["--max-sessions", "1"]
            #expect(try await cli.run(["token"] + limit).status == 0)
            // The revoke's logout is processed at the IAM, its answer held, and the revoker dies
            // with the row still `logging_out` under its claim (30 s before this fix).
            simulator.hold(.logout)
            let revoker = try cli.start(["revoke", "--all", "--force"])
            #expect(try await eventually { simulator.heldCount(.logout) == 1 })
            kill(revoker.pid, SIGKILL)
            _ = try await revoker.finish()
            simulator.releaseHeld()
            let leftover = try #require(try await cli.run(["list", "--json"]).json as? [[String: Any]])
            #expect(leftover.first?["state"] as? String == "logging-out")
            let started = Date()
            let result = try await cli.run(["token", "--wait", "10"] + limit)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 2)
            let stats = simulator.statistics()
            #expect((stats.highWaterMark["alice"] ?? 0) <= 1)
            #expect(stats.logins == 2)
            #expect(try await cli.run(["events"]).stdout.contains("logout claim released: its process died"))
        }
    }
}
