import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// Worker processes acting as separate hosts (`OCP_SESSIONS_HOST_ID`), so no pid check sees
/// across them: on PostgreSQL a holder is alive while its database connection holds its lock.
/// The simulator's counters are the proof of the limit.
@Suite("Separate hosts sharing a PostgreSQL registry", .serialized)
struct PostgresMultiProcessTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgresql
        var testDescription: String { rawValue }
    }

    /// Runs `body` with a fresh registry location of `backend` (a database of its own, dropped after).
    func withRegistry(_ backend: Backend, _ body: (String) async throws -> Void) async throws {
        switch backend {
        case .sqlite:
            let dir = TestPaths.temporaryDirectory()
            defer { TestPaths.remove(dir) }
            try await body(dir + "/registry.sqlite")
        case .postgresql:
            let database = try PostgresTestCluster.makeDatabase()
            defer { PostgresTestCluster.drop(database) }
            try await body(database)
        }
    }

    func fleets(_ simulator: KeycloakSimulator, _ location: String, hosts: [String]) -> [WorkerFleet] {
        hosts.map { host in
            var fleet = WorkerFleet(simulator: simulator, registryPath: location)
            fleet.hostID = host
            return fleet
        }
    }

    @Test("9 processes on 3 hosts x 25 cycles, limit 5, reserve 1: never more than 4 sessions at the IAM",
          .enabled(if: PostgresTestCluster.available, "set OCP_SESSIONS_TEST_POSTGRES"), arguments: Backend.allCases)
    func threeHosts(_ backend: Backend) async throws {
        try await withRegistry(backend) { location in
            try await exclusively { try await withSimulator({ config in
                config.sessionLimit = 5
                config.accessTokenLifespan = 3
            }) { simulator in
                let hosts = fleets(simulator, location, hosts: ["pg-host-a", "pg-host-b", "pg-host-c"])
                let started = try hosts.flatMap { fleet in
                    try (0..<3).map { _ in
                        try fleet.start(["worker", "--cycles", "25", "--protected-url", fleet.protectedURL, "--reserve", "1",
                                         "--min-validity", "2.5", "--hold-ms", "5"])
                    }
                }
                let results = started.map(WorkerFleet.finish)
                let stats = simulator.statistics()
                for result in results {
                    #expect(result.status == 0)
                    #expect(result.callsFailed == 0, "worker errors: \(result.errors)")
                }
                #expect(results.map(\.callsOK).reduce(0, +) == 225)
                #expect((stats.highWaterMark["alice"] ?? 0) <= 4, "limit 5 - reserve 1")
                #expect(stats.denials == 0 && stats.terminations == 0)
                #expect(stats.concurrentRefreshes == 0 && stats.deadTokenRequests == 0)
                #expect(stats.logins <= 4)
                let store = try hosts[0].openStore()
                let ids = try store.read { tx in
                    try tx.accounts().flatMap { try tx.snapshot(accountID: $0.id)?.sessions.map(\.id) ?? [] }
                }
                #expect(Set(ids) == Set(simulator.liveSessions(username: "alice").map(\.id)))
            } }
        }
    }

    /// A holder on host A (limit 1) and a waiter on host B; `cut` ends A's hold its own way; B must
    /// get the slot within 2 s of it. Returns the seconds B took.
    func handOver(_ location: String, cut: @escaping @Sendable (Process, WorkerFleet) throws -> Void) async throws {
        try await exclusively { try await withSimulator({ config in config.sessionLimit = 1 }) { simulator in
            try await PostgresTestCluster.waitOutRestartGrace()
            let hosts = fleets(simulator, location, hosts: ["pg-host-a", "pg-host-b"])
            let holder = try hosts[0].start(["worker", "--cycles", "1", "--hold-ms", "60000", "--max-sessions", "1"])
            defer { kill(holder.0.processIdentifier, SIGKILL) }
            let store = try hosts[0].openStore()
            let held = try await hosts[0].waitUntil(store) { holders, _ in holders.map(\.host) == ["pg-host-a"] }
            #expect(held != nil, "host A never took its lease")
            // B holds what it gets for a while, so the registry shows who has the slot.
            let waiter = try hosts[1].start(["worker", "--cycles", "1", "--max-sessions", "1", "--wait", "30",
                                             "--hold-ms", "1500", "--protected-url", hosts[1].protectedURL])
            let queued = try await hosts[1].waitUntil(store) { _, waiters in waiters == 1 }
            #expect(queued != nil, "host B never queued")
            try cut(holder.0, hosts[0])
            let handedOver = try await hosts[1].waitUntil(store, timeout: 10) { holders, _ in holders.map(\.host) == ["pg-host-b"] }
            #expect(handedOver != nil && handedOver! < 2, "host B got the slot after \(handedOver.map { String($0) } ?? "never") s")
            print("hand-over to another host: \(handedOver.map { String(format: "%.3f", $0) } ?? "never") s (polled every 10 ms)")
            let result = WorkerFleet.finish(waiter)
            #expect(result.callsOK == 1, "errors: \(result.errors)")
            let stats = simulator.statistics()
            #expect(stats.logins == 1, "the slot was handed over, no second login")
            #expect((stats.highWaterMark["alice"] ?? 0) <= 1)
        } }
    }

    @Test("a SIGKILLed holder on another host: a waiter on host B gets its slot within 2 s",
          .enabled(if: PostgresTestCluster.available, "set OCP_SESSIONS_TEST_POSTGRES"))
    func killedHolderOnAnotherHost() async throws {
        try await withRegistry(.postgresql) { location in
            try await handOver(location) { holder, _ in
                kill(holder.processIdentifier, SIGKILL)
                holder.waitUntilExit()
            }
        }
    }

    @Test("a holder whose database connection is cut (pg_terminate_backend): its slot is back within 2 s",
          .enabled(if: PostgresTestCluster.available, "set OCP_SESSIONS_TEST_POSTGRES"))
    func cutConnection() async throws {
        try await withRegistry(.postgresql) { location in
            try await handOver(location) { holder, _ in
                // application_name = ocp-sessions:<pid>:<host id> names the holder's backend.
                let ended = try PostgresTestCluster.terminateBackends(
                    applicationNameContaining: "ocp-sessions:\(holder.processIdentifier):pg-host-a")
                #expect(ended >= 1, "no backend of the holder found by its application_name")
                #expect(holder.isRunning, "the holder process itself lives on")
            }
        }
    }

    @Test("a PostgreSQL restart in the middle of a run: callers recover, the limit holds",
          .enabled(if: PostgresTestCluster.canRestart, "set OCP_SESSIONS_TEST_POSTGRES, _PGDATA and _PGBIN"))
    func restartMidRun() async throws {
        try await withRegistry(.postgresql) { location in
            try await exclusively { try await withSimulator({ config in config.sessionLimit = 5 }) { simulator in
                let hosts = fleets(simulator, location, hosts: ["pg-host-a", "pg-host-b"])
                let started = try hosts.flatMap { fleet in
                    try (0..<4).map { _ in
                        try fleet.start(["worker", "--cycles", "0", "--duration", "8", "--protected-url", fleet.protectedURL,
                                         "--hold-ms", "20", "--wait", "30"])
                    }
                }
                try await Task.sleep(nanoseconds: 2_500_000_000)
                #expect(PostgresTestCluster.restart() == 0, "pg_ctl restart failed")
                let results = started.map(WorkerFleet.finish)
                let stats = simulator.statistics()
                for result in results {
                    #expect(result.status == 0)
                    #expect(result.callsOK > 0)
                    // A transaction cut by the restart fails as a registry error (exit 75, the message
                    // cut at 80 characters by the worker); nothing else.
                    #expect(Set(result.acquireFailureExitCodes.keys).isSubset(of: ["75"]), "\(result.errors)")
                    for message in result.errors.keys {
                        #expect(message.contains("registry postgres://"), "\(message)")
                    }
                }
                let failed = results.map(\.callsFailed).reduce(0, +)
                let ok = results.map(\.callsOK).reduce(0, +)
                // Each worker loses at most the call in flight at the restart, and on a loaded
                // machine perhaps the one after it (its reconnect racing the server's start).
                #expect(failed <= 2 * results.count, "only calls in flight at the restart failed (\(failed))")
                #expect((stats.highWaterMark["alice"] ?? 0) <= 5)
                #expect(stats.denials == 0 && stats.terminations == 0)
                #expect(stats.logins <= 5, "no lease reclaimed from a live holder after the restart")
                print("restart run: \(ok) calls ok, \(failed) failed, \(stats.logins) logins, high-water \(stats.highWaterMark["alice"] ?? 0)")
            } }
        }
    }
}
