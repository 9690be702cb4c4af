import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// Sessions the registry does not know (a browser, another tool) with the account's limit of 5:
/// callers share what is left, the limiter never refuses more than once a minute, brute-force
/// detection never locks the account, "terminate oldest" never evicts one of ours, and only
/// `revoke --foreign` ends them.
@Suite("Sessions unknown to the registry", .serialized)
struct ForeignSessionTests {
    /// 3 foreign sessions, limit 5, brute-force lockout after 5 failures in a row.
    static func realm(_ behavior: LimiterBehavior, accountRoles: Bool = true, tokenLifespan: Double = 300)
        -> @Sendable (inout SimulatorConfiguration) -> Void
    {
        { config in
            config.sessionLimit = 5
            config.limiterBehavior = behavior
            config.bruteForce = BruteForce(failureFactor: 5, lockoutSeconds: 60)
            config.accountRoles = accountRoles
            config.accessTokenLifespan = tokenLifespan
        }
    }

    enum Scenario: String, CaseIterable, CustomTestStringConvertible {
        case deny, denyWithoutAccountRoles, terminateOldest
        var testDescription: String { rawValue }
    }

    @Test("8 processes share the 2 slots 3 foreign sessions leave", arguments: Scenario.allCases)
    func eightProcessesShareWhatIsLeft(_ scenario: Scenario) async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator(Self.realm(
            scenario == .terminateOldest ? .terminateOldest : .deny, accountRoles: scenario != .denyWithoutAccountRoles,
            tokenLifespan: 3  // short, so the run refreshes too
        )) { simulator in
            let foreign = Set(simulator.createForeignSessions(username: "alice", count: 3))
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let started = Date()
            let results = try await fleet.run(count: 8, cycles: 30, extra: ["--min-validity", "2.5", "--hold-ms", "5"])
            let minutes = Date().timeIntervalSince(started) / 60
            let stats = simulator.statistics()
            print("foreign-sessions \(scenario): 8 processes x 30 cycles, 3 foreign, limit 5: "
                + "\(results.map(\.callsOK).reduce(0, +)) calls ok, \(stats.logins) logins, \(stats.refreshes) refreshes, "
                + "\(stats.denials) denials, \(stats.terminations) terminations, \(stats.lockedOutAttempts) locked out, "
                + "high-water \(stats.highWaterMark["alice"] ?? 0), \(String(format: "%.1f", minutes * 60)) s")
            for result in results {
                #expect(result.status == 0)
                #expect(result.callsFailed == 0, "worker errors: \(result.errors)")
            }
            #expect((stats.highWaterMark["alice"] ?? 0) <= 5)
            #expect(stats.lockedOutAttempts == 0)
            #expect(stats.deadTokenRequests == 0)
            switch scenario {
            case .deny, .terminateOldest:
                // Counted through the account API: the limiter never had to say no.
                #expect(stats.denials == 0)
                #expect(stats.terminations == 0)
            case .denyWithoutAccountRoles:
                // Only a denial can tell: at most one a minute.
                #expect(stats.denials >= 1)
                #expect(Double(stats.denials) <= (minutes + 1).rounded(.down), "\(stats.denials) denials in \(minutes) min")
            }
            #expect(stats.logins <= 3, "logins: \(stats.logins)")
            // Never ended automatically.
            let alive = Set(simulator.liveSessions(username: "alice").map(\.id))
            #expect(foreign.isSubset(of: alive))
            #expect(try fleet.registrySessionIDs() == alive.subtracting(foreign))
        } }
    }

    @Test("with no session of ours and the IAM full: one refused login, then none while callers retry")
    func fullIAMIsNotHammered() async throws {
        try await withCLI("ocp-foreign", Self.realm(.deny)) { simulator, cli in
            simulator.createForeignSessions(username: "alice", count: 5)
            var statuses: [Int32] = []
            for _ in 0..<6 {
                let result = try await cli.run(["token", "--wait", "0.5"])
                statuses.append(result.status)
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                #expect(result.stderr.contains("refused new sessions"), "\(result.stderr)")
            }
            #expect(statuses.allSatisfy { $0 == 75 }, "\(statuses)")
            #expect(simulator.statistics().denials == 1)
            #expect(simulator.statistics().lockedOutAttempts == 0)
            let status = try #require(try await cli.run(["status", "--json"]).json as? [String: Any])
            let account = try #require((status["accounts"] as? [[String: Any]])?.first)
            #expect(account["login_blocked_until"] is String)
            let foreign = try #require(account["foreign_sessions"] as? [String: Any])
            #expect(foreign["checked"] as? Bool == false)
            #expect((foreign["reason"] as? String)?.contains("no session of ours") == true)
        }
    }

    @Test("status lists foreign sessions; revoke --foreign ends them, and only them, on request")
    func statusAndRevokeForeign() async throws {
        try await withCLI("ocp-foreign", Self.realm(.deny)) { simulator, cli in
            let foreign = simulator.createForeignSessions(username: "alice", count: 3, clientID: "other-tool")
            #expect(try await cli.run(["token"]).status == 0)
            let ours = try #require(try await cli.run(["list", "--json"]).json as? [[String: Any]]).compactMap { $0["id"] as? String }
            #expect(ours.count == 1)

            let status = try #require(try await cli.run(["status", "--json"]).json as? [String: Any])
            let account = try #require((status["accounts"] as? [[String: Any]])?.first)
            let listing = try #require(account["foreign_sessions"] as? [String: Any])
            #expect(listing["checked"] as? Bool == true)
            let sessions = try #require(listing["sessions"] as? [[String: Any]])
            #expect(Set(sessions.compactMap { $0["id"] as? String }) == Set(foreign))
            #expect(sessions.allSatisfy { ($0["clients"] as? [String]) == ["other-tool"] && $0["started_at"] is String })
            #expect(account["effective_capacity"] as? Int == 2)
            let text = try await cli.run(["status"])
            #expect(text.stdout.contains("sessions unknown to this registry: 3"), "\(text.stdout)")
            let offline = try #require(try await cli.run(["status", "--offline", "--json"]).json as? [String: Any])
            #expect((offline["accounts"] as? [[String: Any]])?.first?["foreign_sessions"] is NSNull)
            // Nothing ended them so far.
            #expect(simulator.liveSessions(username: "alice").count == 4)

            #expect(try await cli.run(["revoke", "--foreign", "--all-accounts"]).status == 64)
            let revoked = try await cli.run(["revoke", "--foreign", "--json"])
            #expect(revoked.status == 0, "\(revoked.stderr)")
            let outcomes = try #require(revoked.json as? [[String: Any]])
            #expect(Set(outcomes.compactMap { $0["id"] as? String }) == Set(foreign))
            #expect(outcomes.allSatisfy { $0["result"] as? String == "revoked" })
            #expect(simulator.liveSessions(username: "alice").map(\.id) == ours)
            #expect(try await cli.run(["status"]).stdout.contains("sessions unknown to this registry: none"))
            #expect(try await cli.run(["revoke", "--foreign"]).stdout.contains("nothing to revoke"))
            // No token in anything printed.
            for output in [text.stdout, revoked.stdout, revoked.stderr] {
                #expect(!output.contains("eyJ"))
            }
        }
    }

    @Test("without the account roles, status says why it cannot list foreign sessions")
    func statusWithoutAccountRoles() async throws {
        try await withCLI("ocp-foreign", Self.realm(.deny, accountRoles: false)) { simulator, cli in
            simulator.createForeignSessions(username: "alice", count: 1)
            #expect(try await cli.run(["token"]).status == 0)
            let text = try await cli.run(["status"])
            #expect(text.status == 0)
            #expect(text.stdout.contains("sessions unknown to this registry: not known (the account API needs"), "\(text.stdout)")
            let revoked = try await cli.run(["revoke", "--foreign"])
            #expect(revoked.status == 78, "\(revoked.stderr)")
            #expect(revoked.stderr.split(separator: "\n").count == 1)
        }
    }
}
