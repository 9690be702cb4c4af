import Testing
@testable import OCPSessions

// Rules 1-3 of `LeaseScheduler.decide`: reuse, refresh, login. Rules 4-5, claims and waiters are in
// LeaseSchedulerLimitTests.swift; `renew` and the randomised invariants in LeaseSchedulerRenewalTests.swift.

@Suite("Rule 1: reuse an idle session")
struct LeaseSchedulerReuseTests {
    @Test func usesIdleSessionWithValidAccessToken() {
        let plan = SchedulerFixture(limit: 3).session("a", access: 300).decide(minValidity: 30)
        #expect(plan == SchedulerPlan(housekeeping: [], action: .use(sessionID: "a")))
    }

    @Test func mostRecentlyUsedFirst() {
        let fixture = SchedulerFixture(limit: 3)
            .session("a", lastUsed: 100)
            .session("b", lastUsed: 10)
            .session("c", lastUsed: 50)
        #expect(fixture.action() == .use(sessionID: "b"))
    }

    @Test func tieOnLastUsedIsBrokenByIdWhateverTheSnapshotOrder() {
        let ab = SchedulerFixture(limit: 3).session("a", lastUsed: 10).session("b", lastUsed: 10)
        let ba = SchedulerFixture(limit: 3).session("b", lastUsed: 10).session("a", lastUsed: 10)
        #expect(ab.action() == .use(sessionID: "b"))
        #expect(ba.action() == .use(sessionID: "b"))
    }

    @Test func validTokenBeatsMoreRecentlyUsedShortOne() {
        // Rule 1 runs over all candidates before rule 2 refreshes anything.
        let fixture = SchedulerFixture(limit: 3)
            .session("recent", access: 10, lastUsed: 1)
            .session("older", access: 300, lastUsed: 100)
        #expect(fixture.action(minValidity: 30) == .use(sessionID: "older"))
    }

    @Test(arguments: [false, true])
    func sessionWithExclusiveLeaseIsSkipped(shared: Bool) {
        let fixture = SchedulerFixture(limit: 3)
            .session("busy", lastUsed: 1)
            .session("idle", lastUsed: 100)
            .lease("L1", on: "busy", shared: false)
        #expect(fixture.action(shared: shared) == .use(sessionID: "idle"))
    }

    @Test func sharedRequestJoinsSharedLease() {
        let fixture = SchedulerFixture(limit: 1).session("a").lease("L1", on: "a", shared: true)
        #expect(fixture.action(shared: true) == .use(sessionID: "a"))
    }

    @Test func sharedRequestPrefersAlreadySharedSessionOverMoreRecentIdleOne() {
        let fixture = SchedulerFixture(limit: 3)
            .session("shared", lastUsed: 100)
            .session("idle", lastUsed: 1)
            .lease("L1", on: "shared", shared: true)
        #expect(fixture.action(shared: true) == .use(sessionID: "shared"))
        // The preference is for shared requests only.
        #expect(fixture.action(shared: false) == .use(sessionID: "idle"))
    }

    @Test func sharedPreferenceStillNeedsValidToken() {
        let fixture = SchedulerFixture(limit: 3)
            .session("shared", access: 10, lastUsed: 100)
            .session("idle", access: 300, lastUsed: 1)
            .lease("L1", on: "shared", shared: true)
        #expect(fixture.action(minValidity: 30, shared: true) == .use(sessionID: "idle"))
    }

    @Test func sharedSessionsAmongThemselvesMostRecentlyUsedFirst() {
        let fixture = SchedulerFixture(limit: 3)
            .session("s1", lastUsed: 100)
            .session("s2", lastUsed: 20)
            .session("idle", lastUsed: 1)
            .lease("L1", on: "s1", shared: true)
            .lease("L2", on: "s2", shared: true)
        #expect(fixture.action(shared: true) == .use(sessionID: "s2"))
    }

    @Test func exclusiveRequestNeverJoinsSharedLease() {
        let below = SchedulerFixture(limit: 2).session("a").lease("L1", on: "a", shared: true)
        #expect(below.action(shared: false) == .login)
        let atLimit = SchedulerFixture(limit: 1).session("a").lease("L1", on: "a", shared: true)
        #expect(atLimit.action(shared: false) == .wait(.atLimit))
    }

    @Test func sharedRequestNeverJoinsExclusiveLease() {
        let fixture = SchedulerFixture(limit: 1).session("a").lease("L1", on: "a", shared: false)
        #expect(fixture.action(shared: true) == .wait(.atLimit))
    }

    @Test func sharedRequestNeverJoinsMixedLeases() {
        // Defensive: one exclusive lease among shared ones keeps the session exclusive.
        let fixture = SchedulerFixture(limit: 1).session("a")
            .lease("L1", on: "a", shared: true)
            .lease("L2", on: "a", shared: false)
        #expect(fixture.action(shared: true) == .wait(.atLimit))
    }

    @Test func minValidityExactlyMetCountsAsValid() {
        let base = SchedulerFixture(limit: 3)
        let exact = base.session(SessionRecord(
            id: "a", accessExpiresAt: base.now + 30, refreshExpiresAt: base.now + 1_800,
            createdAt: 0, lastUsedAt: base.now - 5, lastRefreshedAt: base.now - 5))
        #expect(exact.action(minValidity: 30) == .use(sessionID: "a"))
    }

    @Test func minValidityJustMissedIsRefreshed() {
        let base = SchedulerFixture(limit: 3)
        let short = base.session(SessionRecord(
            id: "a", accessExpiresAt: (base.now + 30).nextDown, refreshExpiresAt: base.now + 1_800,
            createdAt: 0, lastUsedAt: base.now - 5, lastRefreshedAt: base.now - 5))
        #expect(short.action(minValidity: 30) == .refresh(sessionID: "a"))
    }
}

@Suite("Rule 2: refresh an idle session")
struct LeaseSchedulerRefreshTests {
    @Test func refreshesIdleSessionWhoseAccessTokenIsTooShort() {
        let plan = SchedulerFixture(limit: 3).session("a", access: 10, refresh: 1_800).decide(minValidity: 30)
        #expect(plan == SchedulerPlan(housekeeping: [], action: .refresh(sessionID: "a")))
    }

    @Test func refreshesExpiredAccessToken() {
        #expect(SchedulerFixture(limit: 1).session("a", access: -100).action() == .refresh(sessionID: "a"))
    }

    @Test func refreshesMostRecentlyUsedFirst() {
        let fixture = SchedulerFixture(limit: 3)
            .session("a", access: 5, lastUsed: 30)
            .session("b", access: 5, lastUsed: 3)
        #expect(fixture.action() == .refresh(sessionID: "b"))
    }

    @Test func refreshTokenWithinRefreshMarginIsNotRefreshed() {
        // staleWindow 0 isolates refreshMargin (5 s) from staleness.
        let base = SchedulerFixture(limit: 3).policy { $0.staleWindow = 0 }
        func session(refreshEnd: Double) -> SessionRecord {
            SessionRecord(id: "a", accessExpiresAt: base.now + 1, refreshExpiresAt: refreshEnd,
                          createdAt: 0, lastUsedAt: base.now - 5, lastRefreshedAt: base.now - 5)
        }
        #expect(base.session(session(refreshEnd: base.now + 5)).action() == .refresh(sessionID: "a"))
        #expect(base.session(session(refreshEnd: (base.now + 5).nextDown)).action() == .login)
    }

    @Test func refreshTokenWithinRefreshMarginIsLoggedOutAtTheLimitNotRefreshed() {
        // Default policy (stale window 60 s); the handed-out token is still out, so only the margin
        // decides between refreshing the stale session and logging it out.
        let base = SchedulerFixture(limit: 1)
        func session(refreshEnd: Double) -> SessionRecord {
            SessionRecord(id: "a", accessExpiresAt: base.now + 1, refreshExpiresAt: refreshEnd,
                          createdAt: 0, lastUsedAt: base.now - 5, lastRefreshedAt: base.now - 5,
                          handedOutUntil: base.now + 1)
        }
        #expect(base.session(session(refreshEnd: base.now + 5)).action() == .refresh(sessionID: "a"))
        #expect(base.session(session(refreshEnd: (base.now + 5).nextDown)).action() == .logout(sessionIDs: ["a"]))
    }

    @Test func sessionWithLiveRefreshClaimIsNotTaken() {
        // A shared lease holder is refreshing "a": a shared caller could otherwise join it.
        let claimed = SchedulerFixture(limit: 2)
            .session("a", access: 300, refreshClaim: "L1", claimFor: 10)
            .lease("L1", on: "a", shared: true)
        let plan = claimed.decide(shared: true)
        #expect(plan == SchedulerPlan(housekeeping: [], action: .login))
        // Without the claim the same caller joins.
        let unclaimed = SchedulerFixture(limit: 2).session("a", access: 300).lease("L1", on: "a", shared: true)
        #expect(unclaimed.action(shared: true) == .use(sessionID: "a"))
    }

    @Test func sessionWithLiveRefreshClaimIsNotRefreshedEither() {
        let fixture = SchedulerFixture(limit: 2)
            .session("a", access: 1, refreshClaim: "L1", claimFor: 10)
            .lease("L1", on: "a", shared: true)
        #expect(fixture.action(shared: true) == .login)
    }

    @Test func staleSessionWithValidTokenIsPassedOverForFreshOneToRefresh() {
        let fixture = SchedulerFixture(limit: 3)
            .session("stale", access: 50, refresh: 55, lastUsed: 1)
            .session("fresh", access: 5, refresh: 1_800, lastUsed: 100)
        #expect(fixture.action(minValidity: 30) == .refresh(sessionID: "fresh"))
    }

    @Test func staleSessionIsPassedOverForFreshValidOne() {
        let fixture = SchedulerFixture(limit: 3)
            .session("stale", access: 50, refresh: 55, lastUsed: 1)
            .session("fresh", access: 300, refresh: 1_800, lastUsed: 100)
        #expect(fixture.action(minValidity: 30) == .use(sessionID: "fresh"))
    }

    @Test func staleWindowBoundary() {
        // refresh end exactly staleWindow (60 s) away is fresh; just below it is stale.
        let base = SchedulerFixture(limit: 3)
        func fixture(staleEnd: Double) -> SchedulerFixture {
            base.session(SessionRecord(id: "edge", accessExpiresAt: base.now + 50, refreshExpiresAt: staleEnd,
                                       createdAt: 0, lastUsedAt: base.now - 1, lastRefreshedAt: base.now - 1))
                .session("fresh", access: 300, lastUsed: 100)
        }
        #expect(fixture(staleEnd: base.now + 60).action(minValidity: 30) == .use(sessionID: "edge"))
        #expect(fixture(staleEnd: (base.now + 60).nextDown).action(minValidity: 30) == .use(sessionID: "fresh"))
    }

    @Test func staleOnlySessionsBelowTheLimitLeadToLogin() {
        let fixture = SchedulerFixture(limit: 2).session("stale", access: 50, refresh: 55, handedOut: 50)
        #expect(fixture.action(minValidity: 30) == .login)
    }

    @Test func sessionWithoutRefreshExpiryIsNeverStale() {
        let fixture = SchedulerFixture(limit: 3)
            .session("forever", access: 10, refresh: nil, lastUsed: 1)
            .session("fresh", access: 10, refresh: 1_800, lastUsed: 100)
        #expect(fixture.action(minValidity: 30) == .refresh(sessionID: "forever"))
    }
}

@Suite("Rule 3: login below the limit")
struct LeaseSchedulerLoginTests {
    @Test func logsInWhenNothingExists() {
        #expect(SchedulerFixture(limit: 1).decide() == SchedulerPlan(housekeeping: [], action: .login))
    }

    /// limit 4: one leased session, one login in flight, one unknown login, one logout unconfirmed.
    static let counted = SchedulerFixture(limit: 4)
        .session("leased").lease("L1", on: "leased")
        .session("leaving", state: .loggingOut, logoutClaimFor: 20)
        .login("in", state: .inFlight)
        .login("lost", state: .unknown)
        .account { $0.lastReconcileAt = 10_000 - 1 }

    @Test func sessionsLoginsAndLogoutsAllCount() {
        #expect(Self.counted.action() == .wait(.atLimit))
    }

    @Test(arguments: ["leased", "leaving", "in", "lost"])
    func eachCountedItemHoldsASlot(removed: String) {
        let fixture = Self.counted.with { f in
            f.sessions.removeAll { $0.id == removed }
            f.leases.removeAll { $0.sessionID == removed }
            f.logins.removeAll { $0.id == removed }
        }
        #expect(fixture.action() == .login)
    }

    @Test func exactlyAtTheLimitNoLogin() {
        let fixture = SchedulerFixture(limit: 2)
            .session("a").lease("L1", on: "a")
            .session("b").lease("L2", on: "b")
        #expect(fixture.action() == .wait(.atLimit))
        #expect(fixture.account { $0.sessionLimit = 3 }.action() == .login)
    }

    @Test func reserveReducesCapacity() {
        let fixture = SchedulerFixture(limit: 3, reserve: 1)
            .session("a").lease("L1", on: "a")
            .session("b").lease("L2", on: "b")
        #expect(fixture.action() == .wait(.atLimit))
        #expect(fixture.account { $0.reserve = 0 }.action() == .login)
        #expect(fixture.scheduler.capacity(fixture.account) == 2)
    }

    @Test func reserveAtOrAboveLimitAllowsNoLogin() {
        #expect(SchedulerFixture(limit: 2, reserve: 2).action() == .wait(.atLimit))
        #expect(SchedulerFixture(limit: 2, reserve: 5).action() == .wait(.atLimit))
        #expect(SchedulerFixture(limit: 2, reserve: 5).scheduler.capacity(SchedulerFixture(limit: 2, reserve: 5).account) == 0)
    }

    @Test func loginBlockedAfterDenialUntilBlockEnds() {
        let base = SchedulerFixture(limit: 3)
        let until = base.now + 40
        let blocked = base.account { $0.loginBlockedUntil = until; $0.consecutiveDenials = 1 }
        #expect(blocked.action() == .wait(.loginBlocked(until: until)))
        let almost = base.account { $0.loginBlockedUntil = base.now.nextUp; $0.consecutiveDenials = 1 }
        #expect(almost.action() == .wait(.loginBlocked(until: base.now.nextUp)))
        let ended = base.account { $0.loginBlockedUntil = base.now; $0.consecutiveDenials = 1 }
        #expect(ended.action() == .login)
    }

    @Test func afterMaxDenialsNoLoginAtOrBeyondEffectiveCapacity() {
        let base = SchedulerFixture(limit: 5).withoutAccountAPI()
            .account { $0.consecutiveDenials = 3; $0.effectiveCapacity = 2; $0.loginBlockedUntil = 10_000 - 1 }
            .account { $0.lastReconcileAt = 10_000 - 1 }  // lost logins were just asked about
            .session("a").lease("L1", on: "a")
        // counted 1 < effective 2: allowed.
        #expect(base.action() == .login)
        // counted 2 == effective 2: not allowed although the limit (5) has room, until an idle
        // timeout (1800 + 120 s) after the last denial (61 s ago).
        let atEffective = base.login("in", state: .unknown)
        #expect(atEffective.action() == .wait(.atLimit))
        // counted 3 > effective 2: not allowed.
        #expect(atEffective.login("in2", state: .unknown).action() == .wait(.atLimit))
    }

    @Test func afterMaxDenialsOneAttemptOnceAnIdleTimeoutHasPassed() {
        // Foreign sessions filled the limit; we hold none. Their idle timeout (1800 s + 120 s
        // grace) after the last denial they may be gone: one attempt then, not before.
        func fixture(lastDenialAgo: Double) -> SchedulerFixture {
            let base = SchedulerFixture(limit: 5).withoutAccountAPI()
            return base.account {
                $0.consecutiveDenials = 3
                $0.effectiveCapacity = 0
                $0.idleTimeout = 1800
                $0.loginBlockedUntil = base.now - lastDenialAgo + 60
            }
        }
        #expect(fixture(lastDenialAgo: 1919).action() == .wait(.atLimit))
        #expect(fixture(lastDenialAgo: 1920).action() == .login)
    }

    @Test func belowMaxDenialsEffectiveCapacityDoesNotBlock() {
        let fixture = SchedulerFixture(limit: 5).withoutAccountAPI()
            .account { $0.consecutiveDenials = 2; $0.effectiveCapacity = 1; $0.loginBlockedUntil = 10_000 - 1 }
            .session("a").lease("L1", on: "a")
        #expect(fixture.action() == .login)
        #expect(fixture.policy { $0.maxConsecutiveDenials = 2 }.action() == .wait(.atLimit))
    }
}
