import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// Processes that act as separate hosts on one machine (`OCP_SESSIONS_HOST_ID`): their holders are
/// recorded under that host id, and no other host id judges them by pid. On SQLite the lease's hold
/// time is then the backstop (on PostgreSQL, the holder's connection lock).
@Suite("Separate hosts", .serialized)
struct SeparateHostTests {
    @Test("a SIGKILLed holder of another host id keeps its lease; one of its own host id reclaims it")
    func otherHostNotPidChecked() async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in config.sessionLimit = 1 }) { simulator in
            var hostA = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            hostA.hostID = "test-host-a"
            var hostB = hostA
            hostB.hostID = "test-host-b"
            let (holder, _) = try hostA.start(["worker", "--cycles", "1", "--hold-ms", "60000", "--max-sessions", "1"])
            var holders: [HolderIdentity] = []
            for _ in 0..<200 where holders.isEmpty {
                try await Task.sleep(nanoseconds: 25_000_000)
                holders = (try? hostA.openRegistry().read { tx in
                    try tx.accounts().flatMap { try tx.snapshot(accountID: $0.id)?.leases.map(\.holder) ?? [] }
                }) ?? []
            }
            #expect(holders.map(\.host) == ["test-host-a"])
            #expect(holders.first?.pid == Int(holder.processIdentifier))
            kill(holder.processIdentifier, SIGKILL)
            // Polled, not waitUntilExit: the exit is noticed on Dispatch's pool, which a blocked
            // wait on a pool thread can starve.
            for _ in 0..<1_000 where holder.isRunning { try await Task.sleep(nanoseconds: 10_000_000) }
            #expect(!holder.isRunning)
            // Host B cannot see that pid: the lease stands until its hold time, so B waits in vain.
            let fromB = try await hostB.run(count: 1, cycles: 1, extra: ["--max-sessions", "1", "--wait", "1"])
            #expect(fromB.first?.callsOK == 0, "host B reclaimed a lease it cannot check")
            // Host A (same host id and boot) sees its pid gone and reclaims at once.
            let started = Date()
            let fromA = try await hostA.run(count: 1, cycles: 1, extra: ["--max-sessions", "1", "--wait", "5"])
            #expect(fromA.first?.callsOK == 1, "errors: \(fromA.first?.errors ?? [:])")
            #expect(Date().timeIntervalSince(started) < 3)
            let stats = simulator.statistics()
            #expect(stats.logins == 1)
            #expect((stats.highWaterMark["alice"] ?? 0) <= 1)
        } }
    }
}
