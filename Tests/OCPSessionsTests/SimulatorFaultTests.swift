import Foundation
import KeycloakSimulator
import Testing

@Suite("Simulator fault injection")
struct SimulatorFaultTests {
    @Test("server error at rate 1: 500 unknown_error, nothing processed")
    func serverError() async throws {
        try await withSimTestServer({ $0.faults = FaultConfiguration(rate: 1, kinds: [.serverError]) }) {
            simulator, realm in
            let response = try await realm.login()
            #expect(response.status == 500)
            #expect(response.string("error") == "unknown_error")
            let statistics = simulator.statistics()
            #expect(statistics.faultsInjected == 1 && statistics.loginAttempts == 0 && statistics.logins == 0)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
        }
    }

    @Test("dropped connection at rate 1: no answer, nothing processed")
    func dropConnection() async throws {
        try await withSimTestServer({ $0.faults = FaultConfiguration(rate: 1, kinds: [.dropConnection]) }) {
            simulator, realm in
            await #expect(throws: (any Error).self) { try await realm.login() }
            #expect(simulator.statistics().faultsInjected == 1)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
        }
    }

    @Test("not JSON at rate 1: 200 with an HTML page")
    func notJSON() async throws {
        try await withSimTestServer({ $0.faults = FaultConfiguration(rate: 1, kinds: [.notJSON]) }) {
            simulator, realm in
            let response = try await realm.login()
            #expect(response.status == 200)
            #expect(response.json == nil)
            #expect(response.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
        }
    }

    @Test("slow answer at rate 1: a 504 after the delay, nothing processed")
    func slowAnswer() async throws {
        try await withSimTestServer({ $0.faults = FaultConfiguration(rate: 1, kinds: [.slowAnswer(0.2)]) }) {
            simulator, realm in
            let start = Date()
            let response = try await realm.login()
            #expect(Date().timeIntervalSince(start) >= 0.2)
            #expect(response.status == 504)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
        }
    }

    @Test("setFaults switches faults on and off; a seed repeats the same decisions")
    func setFaultsAndSeed() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            simulator.setFaults(FaultConfiguration(rate: 1, kinds: [.serverError]))
            #expect(try await realm.refresh(login.refresh).status == 500)
            #expect(try await realm.logout(login.refresh).status == 500)
            #expect(simulator.liveSessions(username: "alice").count == 1)
            #expect(simulator.statistics().refreshes == 0)

            func pattern() async throws -> [Int] {
                simulator.setFaults(FaultConfiguration(rate: 0.5, kinds: [.serverError], seed: 42))
                var statuses: [Int] = []
                for _ in 0..<12 { statuses.append(try await realm.get(".well-known/openid-configuration").status) }
                return statuses
            }
            let first = try await pattern()
            #expect(try await pattern() == first)
            #expect(first.contains(500) && first.contains(200))

            simulator.setFaults(.none)
            #expect(try await realm.refresh(login.refresh).status == 200)
        }
    }
}
