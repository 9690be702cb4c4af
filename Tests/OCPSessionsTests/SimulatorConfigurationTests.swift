import KeycloakSimulator
import Testing

@Suite("Simulator configuration validation")
struct SimulatorConfigurationTests {
    static let invalid: [(String, @Sendable (inout SimulatorConfiguration) -> Void)] = [
        ("accessTokenLifespan", { $0.accessTokenLifespan = -1 }),
        ("accessTokenLifespan", { $0.accessTokenLifespan = 0 }),
        ("ssoSessionIdle", { $0.ssoSessionIdle = .nan }),
        ("ssoSessionMax", { $0.ssoSessionMax = .infinity }),
        ("ssoSessionMax", { $0.ssoSessionMax = 11 * 365 * 24 * 3600 }),
        ("idleGrace", { $0.idleGrace = -0.5 }),
        ("loginCost", { $0.loginCost = .nan }),
        ("maximumLifetime", { $0.maximumLifetime = 0 }),
        ("maximumLifetime", { $0.maximumLifetime = .nan }),
        ("maximumLifetime", { $0.maximumLifetime = 1e12 }),
        ("sessionLimit", { $0.sessionLimit = 0 }),
        ("invalidGrantStatus", { $0.invalidGrantStatus = 403 }),
        ("bruteForce.failureFactor", { $0.bruteForce = BruteForce(failureFactor: 0, lockoutSeconds: 1) }),
        ("bruteForce.lockoutSeconds", { $0.bruteForce = BruteForce(failureFactor: 3, lockoutSeconds: -1) }),
        ("faults.rate", { $0.faults = FaultConfiguration(rate: 1.5, kinds: [.serverError]) }),
        ("faults.rate", { $0.faults = FaultConfiguration(rate: .nan, kinds: [.serverError]) }),
        ("faults.kinds", { $0.faults = FaultConfiguration(rate: 0.5, kinds: []) }),
        ("faults.slowAnswer", { $0.faults = FaultConfiguration(rate: 0.5, kinds: [.slowAnswer(seconds: .infinity)]) }),
        ("realm", { $0.realm = "a/b" }),
        ("basePath", { $0.basePath = "auth" }),
        ("publicClients", { $0.confidentialClients = ["ocp": "secret"] }),
    ]

    @Test("start refuses a configuration that makes no sense", arguments: invalid.indices)
    func refuses(_ index: Int) async throws {
        let (field, change) = Self.invalid[index]
        var configuration = SimulatorConfiguration()
        configuration.maximumLifetime = 5
        change(&configuration)
        let error = await #expect(throws: SimulatorConfigurationError.self) {
            let simulator = try await KeycloakSimulator.start(configuration)
            await simulator.shutdown()
        }
        #expect(error?.field == field)
        #expect(error?.description.contains(field) == true)
    }

    @Test("an infinite maximum lifetime is allowed (the CLI's choice)")
    func infiniteLifetime() async throws {
        var configuration = SimulatorConfiguration()
        configuration.maximumLifetime = .infinity
        configuration.accessTokenLifespan = 0.5
        let simulator = try await KeycloakSimulator.start(configuration)
        await simulator.shutdown()
    }

    @Test("an out-of-range port is refused")
    func badPort() async throws {
        await #expect(throws: SimulatorConfigurationError.self) {
            _ = try await KeycloakSimulator.start(SimulatorConfiguration(), port: 70000)
        }
    }
}
