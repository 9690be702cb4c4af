import Foundation
import KeycloakSimulator
import Testing

@Suite("Simulator test hooks and lifecycle")
struct SimulatorHooksTests {
    @Test("hold(.login): the session exists while the answer is held; release sends it")
    func holdLogin() async throws {
        try await withSimTestServer { simulator, realm in
            simulator.hold(.login)
            async let answer = realm.login()
            #expect(try await simTestEventually { simulator.heldCount(.login) == 1 })
            // Processed already: the session counts although the client has no token yet.
            #expect(simulator.liveSessions(username: "alice").count == 1)
            #expect(simulator.statistics().logins == 1)
            // Other kinds are not held.
            #expect(try await realm.get(".well-known/openid-configuration").status == 200)
            simulator.releaseHeld()
            let response = try await answer
            #expect(response.status == 200)
            #expect(simulator.heldCount(.login) == 0)
            // Released means no longer holding.
            #expect(try await realm.login().status == 200)
        }
    }

    @Test("hold(.logout): the session is gone before the 204 arrives")
    func holdLogout() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            simulator.hold(.logout)
            async let answer = realm.logout(login.refresh)
            #expect(try await simTestEventually { simulator.heldCount(.logout) == 1 })
            #expect(simulator.liveSessions(username: "alice").isEmpty)
            simulator.releaseHeld()
            #expect(try await answer.status == 204)
        }
    }

    @Test("a held answer to a killed client is dropped; shutdown releases what is held")
    func heldAnswerAndShutdown() async throws {
        var configuration = SimulatorConfiguration()
        configuration.maximumLifetime = 20
        let simulator = try await KeycloakSimulator.start(configuration)
        let realm = SimTestRealm(simulator)
        simulator.hold(.login)
        let abandoned = Task { try await realm.login() }
        #expect(try await simTestEventually { simulator.heldCount(.login) == 1 })
        abandoned.cancel()  // The connection stays open; the answer stays held.
        async let waiting = realm.login()
        #expect(try await simTestEventually { simulator.heldCount(.login) == 2 })
        await simulator.shutdown()
        #expect(simulator.heldCount(.login) == 0)
        // Released on shutdown: the waiting client gets its answer or a closed connection.
        let outcome = try? await waiting
        #expect(outcome == nil || outcome?.status == 200)
        _ = await abandoned.result
        await simulator.shutdown()  // twice is fine
    }

    @Test("restart drops sessions and keeps counters")
    func restart() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            _ = try await realm.tokens()
            simulator.restart()
            #expect(simulator.liveSessions(username: "alice").isEmpty)
            #expect(try await realm.refresh(login.refresh).oauthError == ["invalid_grant", "Session not active"])
            #expect(try await realm.protected(login.access).status == 401)
            let statistics = simulator.statistics()
            #expect(statistics.logins == 2 && statistics.highWaterMark["alice"] == 2)
            #expect(statistics.currentSessions["alice"] == 0)
            #expect(try await realm.login().status == 200)
        }
    }

    @Test("killSession removes exactly that session")
    func killSession() async throws {
        try await withSimTestServer { simulator, realm in
            let one = try await realm.tokens()
            let two = try await realm.tokens()
            simulator.killSession(id: one.sessionState)
            simulator.killSession(id: "no-such-session")
            #expect(simulator.liveSessions(username: "alice").map(\.id) == [two.sessionState])
            #expect(try await realm.refresh(one.refresh).oauthError == ["invalid_grant", "Session not active"])
            #expect(try await realm.refresh(two.refresh).status == 200)
        }
    }

    @Test("the server stops by itself after its maximum lifetime")
    func maximumLifetime() async throws {
        // A lifetime the first request fits in even on a loaded machine (0.5 s did not, with other
        // suites starting at once), then a generous bound for the stop.
        var configuration = SimulatorConfiguration()
        configuration.maximumLifetime = 5
        let started = ContinuousClock.now
        let simulator = try await KeycloakSimulator.start(configuration)
        let realm = SimTestRealm(simulator)
        #expect(try await realm.get(".well-known/openid-configuration").status == 200)
        var stopped = false
        while !stopped && ContinuousClock.now - started < .seconds(60) {
            try await Task.sleep(for: .milliseconds(200))
            stopped = (try? await realm.get(".well-known/openid-configuration")) == nil
        }
        #expect(stopped)
        #expect(ContinuousClock.now - started >= .seconds(5))
        await simulator.shutdown()
    }

    @Test("statistics encode as JSON")
    func statisticsCodable() async throws {
        try await withSimTestServer { simulator, realm in
            _ = try await realm.tokens()
            let data = try JSONEncoder().encode(simulator.statistics())
            let decoded = try JSONDecoder().decode(SimulatorStatistics.self, from: data)
            #expect(decoded == simulator.statistics())
            #expect(decoded.logins == 1)
        }
    }
}
