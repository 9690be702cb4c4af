import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// Settling a login lost with its process, while another login is in flight.
@Suite("Lost-login reconcile", .serialized)
struct LostLoginReconcileTests {

    func hasLease(_ fleet: WorkerFleet) throws -> Bool {
        (try? fleet.openRegistry().read { tx in
            try tx.accounts().contains { try tx.snapshot(accountID: $0.id)?.leases.isEmpty == false }
        }) ?? false
    }

    /// Limit 3: a held session, a login whose process was killed after the IAM created its session,
    /// and a live login whose answer is held at the IAM. A third caller at the limit must not ask the
    /// account API to end "orphans" then: the live login's new session is not in the registry yet
    /// and looks exactly like the lost login's orphan. Ending it hands its caller a dead token.
    @Test("a live login in flight is never mistaken for a lost login's orphan")
    func liveLoginIsNotAnOrphan() async throws {
        let dir = TestPaths.temporaryDirectory("reconcile")
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in config.sessionLimit = 3 }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let limit = ["--max-sessions", "3", "--min-validity", "5"]
            let (keeper, _) = try fleet.start(["worker", "--cycles", "1", "--hold-ms", "60000"] + limit)
            defer { kill(keeper.processIdentifier, SIGKILL); keeper.waitUntilExit() }
            // Its lease is in the registry, so its login's answer was delivered before the hold.
            #expect(try await eventually { try hasLease(fleet) })

            simulator.hold(.login)
            let (lost, _) = try fleet.start(["worker", "--cycles", "1"] + limit)
            #expect(try await eventually { simulator.heldCount(.login) == 1 })
            kill(lost.processIdentifier, SIGKILL)
            lost.waitUntilExit()
            let (live, livePipe) = try fleet.start(["worker", "--cycles", "1", "--protected-url", fleet.protectedURL] + limit)
            #expect(try await eventually { simulator.heldCount(.login) == 2 })
            #expect(simulator.liveSessions(username: "alice").count == 3)

            // The third caller finds the account at its limit (1 session + 1 lost + 1 in flight).
            let (third, thirdPipe) = try fleet.start(
                ["worker", "--cycles", "1", "--protected-url", fleet.protectedURL, "--wait", "15"] + limit)
            #expect(try await eventually {
                (try? fleet.openRegistry().read { tx in
                    try tx.accounts().contains { try tx.snapshot(accountID: $0.id)?.waiters.isEmpty == false }
                }) ?? false
            })
            // Time for a wrong reconcile to happen (it would take milliseconds).
            try await Task.sleep(nanoseconds: 500_000_000)
            simulator.releaseHeld()

            let liveResult = WorkerResult(status: 0, output: livePipe.fileHandleForReading.readDataToEndOfFile())
            live.waitUntilExit()
            let thirdResult = WorkerResult(status: 0, output: thirdPipe.fileHandleForReading.readDataToEndOfFile())
            third.waitUntilExit()
            #expect(liveResult.callsOK == 1, "errors: \(liveResult.errors)")
            #expect(thirdResult.callsOK == 1, "errors: \(thirdResult.errors)")
            let stats = simulator.statistics()
            #expect(stats.deadTokenRequests == 0)
            #expect((stats.highWaterMark["alice"] ?? 0) <= 3)
            #expect(stats.denials == 0)

            // Once no login is in flight, the lost login is settled through the account API (by the
            // third caller at the limit, or else by `prune`): its orphan is ended at the IAM and the
            // registry and the IAM agree.
            #expect(try await fleet.prune(directory: dir) == 0)
            #expect(try fleet.loginIDs().isEmpty)
            let atIAM = Set(simulator.liveSessions(username: "alice").map(\.id))
            #expect(atIAM.count == 2)
            #expect(try fleet.registrySessionIDs() == atIAM)
        } }
    }

    @Test("prune settles a lost login through the account API, without a caller at the limit")
    func pruneSettlesLostLogin() async throws {
        let dir = TestPaths.temporaryDirectory("reconcile-prune")
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in config.sessionLimit = 5 }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let limit = ["--max-sessions", "5", "--min-validity", "5"]
            _ = try await fleet.run(count: 1, cycles: 1, extra: limit)
            simulator.hold(.login)
            // Two callers at once: one takes the idle session, the other logs in and is killed.
            let (holder, _) = try fleet.start(["worker", "--cycles", "1", "--hold-ms", "60000"] + limit)
            defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
            #expect(try await eventually { try hasLease(fleet) })
            let (lost, _) = try fleet.start(["worker", "--cycles", "1"] + limit)
            #expect(try await eventually { simulator.heldCount(.login) == 1 })
            kill(lost.processIdentifier, SIGKILL)
            lost.waitUntilExit()
            simulator.releaseHeld()
            #expect(simulator.liveSessions(username: "alice").count == 2)
            #expect(try fleet.loginIDs().count == 1)

            #expect(try await fleet.prune(directory: dir) == 0)
            #expect(try fleet.loginIDs().isEmpty)
            let atIAM = Set(simulator.liveSessions(username: "alice").map(\.id))
            #expect(atIAM.count == 1)
            #expect(try fleet.registrySessionIDs() == atIAM)
            let events = try fleet.openRegistry().read { try $0.events(since: 0, accountID: nil, afterID: nil, limit: 1000) }
            #expect(events.contains { $0.kind == .reconcile && $0.detail.contains("1 orphan session") })
        } }
    }
}
