import KeycloakSimulator
import Testing

@Suite("Simulator refresh-token rotation")
struct SimulatorRotationTests {
    @Test("reusing the current token: reuse exceeded, then the client session is detached")
    func reuseDetaches() async throws {
        try await withSimTestServer({ $0.revokeRefreshToken = true }) { simulator, realm in
            let login = try await realm.tokens()
            let first = try await realm.refresh(login.refresh)
            #expect(first.status == 200)
            let second = try #require(SimTestTokens(first))
            let reuse = try await realm.refresh(login.refresh)
            #expect(reuse.status == 400)
            #expect(reuse.oauthError == ["invalid_grant", "Maximum allowed refresh token reuse exceeded"])
            // The legitimate newer token dies with the detached client session …
            let legit = try await realm.refresh(second.refresh)
            #expect(legit.oauthError == ["invalid_grant", "Session doesn't have required client"])
            #expect(try await realm.protected(second.access).status == 401)
            // … but the user session lingers and still counts.
            let sessions = simulator.liveSessions(username: "alice")
            #expect(sessions.count == 1)
            #expect(sessions.first?.clientAttached == false)
            #expect(simulator.statistics().reuseDetections == 1)
            // Logout with the poisoned token clears it.
            #expect(try await realm.logout(second.refresh).status == 204)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
        }
    }

    @Test("an older token after a newer one was used: Stale token")
    func staleToken() async throws {
        try await withSimTestServer({ $0.revokeRefreshToken = true }) { simulator, realm in
            let first = try await realm.tokens()
            let second = try #require(SimTestTokens(try await realm.refresh(first.refresh)))
            let third = try await realm.refresh(second.refresh)
            #expect(third.status == 200)
            let stale = try await realm.refresh(first.refresh)
            #expect(stale.oauthError == ["invalid_grant", "Stale token"])
            let next = try #require(SimTestTokens(third))
            #expect(
                try await realm.refresh(next.refresh).oauthError == [
                    "invalid_grant", "Session doesn't have required client",
                ])
            let statistics = simulator.statistics()
            #expect(statistics.refreshErrors["Stale token"] == 1)
            #expect(statistics.refreshErrors["Session doesn't have required client"] == 1)
        }
    }

    @Test("a detached session still counts toward the limit")
    func detachedCountsTowardLimit() async throws {
        try await withSimTestServer({
            $0.revokeRefreshToken = true
            $0.sessionLimit = 1
        }) { simulator, realm in
            let login = try await realm.tokens()
            #expect(try await realm.refresh(login.refresh).status == 200)
            #expect(try await realm.refresh(login.refresh).status == 400)
            let denied = try await realm.login()
            #expect(denied.status == 403)
            #expect(simulator.statistics().denials == 1)
        }
    }

    @Test("two refreshes of one session in flight: counted, and rotation kills the chain")
    func concurrentRefreshes() async throws {
        try await withSimTestServer({ $0.revokeRefreshToken = true }) { simulator, realm in
            let login = try await realm.tokens()
            simulator.hold(.refresh)
            async let first = realm.refresh(login.refresh)
            #expect(try await simTestEventually { simulator.heldCount(.refresh) == 1 })
            async let second = realm.refresh(login.refresh)
            #expect(try await simTestEventually { simulator.heldCount(.refresh) == 2 })
            #expect(simulator.statistics().concurrentRefreshes == 1)
            simulator.releaseHeld()
            let answers = try await [first, second]
            #expect(answers.map(\.status).sorted() == [200, 400])
            #expect(
                answers.contains { $0.string("error_description") == "Maximum allowed refresh token reuse exceeded" })
            // Answered: a later refresh is not concurrent any more.
            _ = try await realm.refresh(login.refresh)
            #expect(simulator.statistics().concurrentRefreshes == 1)
        }
    }

    @Test("without rotation parallel refreshes all succeed")
    func parallelWithoutRotation() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            async let a = realm.refresh(login.refresh)
            async let b = realm.refresh(login.refresh)
            async let c = realm.refresh(login.refresh)
            let answers = try await [a, b, c]
            #expect(answers.allSatisfy { $0.status == 200 })
            #expect(simulator.statistics().refreshes == 3)
        }
    }
}
