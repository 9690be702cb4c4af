import OCPSessions
import Testing

/// The rules of `prune` and `revoke` on a fake clock: what may be logged out, and what needs --force.
@Suite("Lease scheduler: admin rules")
struct LeaseSchedulerAdminTests {
    func victims(_ fixture: SchedulerFixture, idleTimeout: Double = 600, ignoringHandedOut: Bool = false) -> [String: PruneReason] {
        let pairs = fixture.scheduler.pruneVictims(
            fixture.snapshot, idleTimeout: idleTimeout, now: fixture.now, ignoringHandedOutTokens: ignoringHandedOut)
        return Dictionary(uniqueKeysWithValues: pairs.map { ($0.sessionID, $0.reason) })
    }

    @Test func pruneTakesIdlePastTheTimeoutAndExpiredRefreshTokens() {
        let fixture = SchedulerFixture(limit: 5)
            .session("idle", lastUsed: 601)
            .session("recent", lastUsed: 599)
            .session("expiring", refresh: 4.9, lastUsed: 1)   // under the 5 s refresh margin
            .session("offline", refresh: nil, lastUsed: 10)
        #expect(victims(fixture) == ["idle": .idle, "expiring": .expired])
    }

    @Test func pruneNeverTakesLeasedRefreshingOrHandedOutSessions() {
        let fixture = SchedulerFixture(limit: 5)
            .session("leased", lastUsed: 9_999).lease("L", on: "leased")
            .session("refreshing", lastUsed: 9_999, refreshClaim: "X", claimFor: 10)
            .session("handed", lastUsed: 9_999, handedOut: 0.5)
        #expect(victims(fixture, idleTimeout: 0).isEmpty)
        // Only the handed-out token held it back: counted by the `ignoringHandedOutTokens` pass.
        #expect(victims(fixture, idleTimeout: 0, ignoringHandedOut: true) == ["handed": .idle])
        // The moment that token expires, it may go.
        let expired = SchedulerFixture(limit: 5).session("handed", lastUsed: 9_999, handedOut: 0)
        #expect(victims(expired, idleTimeout: 0) == ["handed": .idle])
    }

    @Test func pruneRetriesALogoutOnlyOnceItsClaimLapsed() {
        let fixture = SchedulerFixture(limit: 5)
            .session("lapsed", state: .loggingOut, logoutClaimFor: 0)
            .session("claimed", state: .loggingOut, logoutClaimFor: 0.1)
        #expect(victims(fixture) == ["lapsed": .retry])
    }

    @Test func revocationNeedsForceWhileLeasedOrAHandedOutTokenIsValid() {
        let fixture = SchedulerFixture(limit: 5)
            .session("leased").lease("L", on: "leased", pid: 811)
            .session("shared").lease("S1", on: "shared", shared: true).lease("S2", on: "shared", shared: true)
            .session("handed", handedOut: 12.2)
            .session("free", handedOut: 0)
        let scheduler = fixture.scheduler
        func blocker(_ id: String) -> String? {
            scheduler.revocationBlocker(fixture.snapshot.sessions.first { $0.id == id }!, in: fixture.snapshot, now: fixture.now)
        }
        #expect(blocker("leased")?.contains("pid 811") == true)
        #expect(blocker("shared") == "leased by 2 holders")
        #expect(blocker("handed") == "a token handed out from it is valid for 13s more")
        #expect(blocker("free") == nil)
    }

    @Test func idleMeansActiveUnleasedAndNotBeingRefreshed() {
        let fixture = SchedulerFixture(limit: 5)
            .session("idle")
            .session("leased").lease("L", on: "leased")
            .session("refreshing", refreshClaim: "X", claimFor: 1)
            .session("lapsedClaim", refreshClaim: "X", claimFor: 0)
            .session("out", state: .loggingOut)
        let idle = fixture.snapshot.sessions.filter { fixture.scheduler.isIdle($0, in: fixture.snapshot, now: fixture.now) }
        #expect(idle.map(\.id) == ["idle", "lapsedClaim"])
    }
}

@Suite("Lease scheduler: executor rules")
struct LeaseSchedulerExecutorRuleTests {
    @Test func atMostNinetyPercentOfTheLifetimeCanBePromised() {
        #expect(LeaseScheduler.canPromise(minValidity: 27, lifetime: 30))
        #expect(!LeaseScheduler.canPromise(minValidity: 27.001, lifetime: 30))
        #expect(!LeaseScheduler.canPromise(minValidity: 30, lifetime: 30))
        #expect(LeaseScheduler.canPromise(minValidity: 0, lifetime: 0.5))
    }

    @Test func waitersRenewTheirHeartbeatEveryQuarterOfTheTimeout() {
        let scheduler = SchedulerFixture().policy { $0.waiterTimeout = 10 }.scheduler
        #expect(!scheduler.waiterNeedsHeartbeat(lastAt: 100, now: 102.49))
        #expect(scheduler.waiterNeedsHeartbeat(lastAt: 100, now: 102.5))
        #expect(scheduler.waiterNeedsHeartbeat(lastAt: 0, now: 100))   // never beaten
    }
}
