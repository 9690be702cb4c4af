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
        try await withSimulator({ config in config.sessionLimit = 1 }) { simulator in
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
        }
    }
}
