import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// 8 OS processes x 50 acquire/use/release cycles on one registry, against a simulator with a limit
/// of 5. The simulator's counters are the proof: they would trip if the limit were passed.
@Suite("Multi-process sharing against the simulator", .serialized)
struct MultiProcessTests {
    enum Scenario: String, CaseIterable, CustomTestStringConvertible {
        case deny, terminateOldest, rotation
        var testDescription: String { rawValue }
    }

    @Test("8 processes x 50 cycles never pass the limit", arguments: Scenario.allCases)
    func eightProcesses(_ scenario: Scenario) async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in
            config.sessionLimit = 5
            config.limiterBehavior = scenario == .terminateOldest ? .terminateOldest : .deny
            config.revokeRefreshToken = scenario == .rotation
            // Short access tokens so the run refreshes sessions, not only reuses them.
            config.accessTokenLifespan = 3
        }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let results = try await fleet.run(count: 8, cycles: 50, extra: ["--min-validity", "2.5", "--hold-ms", "2"])
            let stats = simulator.statistics()
            for result in results {
                #expect(result.status == 0)
                #expect(result.callsFailed == 0, "worker errors: \(result.errors)")
            }
            #expect(results.map(\.callsOK).reduce(0, +) == 400)
            #expect((stats.highWaterMark["alice"] ?? 0) <= 5)
            #expect((stats.highWaterMark["alice"] ?? 0) >= 1)
            #expect(stats.denials == 0)
            #expect(stats.terminations == 0)
            #expect(stats.refreshErrors.isEmpty, "refresh errors: \(stats.refreshErrors)")
            #expect(stats.concurrentRefreshes == 0)
            #expect(stats.deadTokenRequests == 0)
            #expect(stats.reuseDetections == 0)
            #expect(stats.logins <= 5)
            #expect(stats.refreshes > 0, "the run should have refreshed sessions")
            // Registry and IAM agree on which sessions exist.
            let atIAM = Set(simulator.liveSessions(username: "alice").map(\.id))
            #expect(try fleet.registrySessionIDs() == atIAM)
        } }
    }

    @Test("negative control: a login per call trips the same counters")
    func naiveWorkloadTripsCounters() async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        for behavior in [LimiterBehavior.deny, .terminateOldest] {
            try await exclusively { try await withSimulator({ config in
                config.sessionLimit = 5
                config.limiterBehavior = behavior
            }) { simulator in
                let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/naive-\(behavior).sqlite")
                _ = try await fleet.run(count: 8, cycles: 5, extra: ["--naive"])
                let stats = simulator.statistics()
                #expect(stats.logins + stats.denials == 40)
                if behavior == .deny {
                    #expect(stats.denials > 0)
                } else {
                    #expect(stats.terminations > 0)
                    #expect(stats.logins > 5)
                }
            } }
        }
    }
}
