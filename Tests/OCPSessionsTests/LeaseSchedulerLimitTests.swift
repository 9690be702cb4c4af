import Testing
@testable import OCPSessions

// Rules 4-5 of `LeaseScheduler.decide` (at the limit; waiting and fairness) and the housekeeping
// `tidy` applies first (dead holders, expired holds, lost logins, lapsed claims, stale waiters).

@Suite("Rule 4: at the limit")
struct LeaseSchedulerAtLimitTests {
    @Test func deadHoldersLeaseIsReclaimedAndSessionReusedInSameDecision() {
        let fixture = SchedulerFixture(limit: 1).session("a").lease("L1", on: "a", pid: 7).dead(7)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.deleteLease(id: "L1", sessionID: "a", reason: .holderDead)],
            action: .use(sessionID: "a")))
        // Alive, the same lease blocks.
        #expect(SchedulerFixture(limit: 1).session("a").lease("L1", on: "a", pid: 7).decide()
            == SchedulerPlan(housekeeping: [], action: .wait(.atLimit)))
    }

    @Test func deadHolderOfOneOfSeveralSharedLeasesOnlyLosesItsOwn() {
        let fixture = SchedulerFixture(limit: 1).session("a")
            .lease("L1", on: "a", shared: true, pid: 7)
            .lease("L2", on: "a", shared: true, pid: 8)
            .dead(7)
        let plan = fixture.decide(shared: false)
        #expect(plan.housekeeping == [.deleteLease(id: "L1", sessionID: "a", reason: .holderDead)])
        #expect(plan.action == .wait(.atLimit))
    }

    @Test func expiredHoldIsReclaimedAndSessionReused() {
        let fixture = SchedulerFixture(limit: 1).session("a").lease("L1", on: "a", expiresIn: 0)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.deleteLease(id: "L1", sessionID: "a", reason: .holdExpired)],
            action: .use(sessionID: "a")))
    }

    @Test func holdNotYetExpiredBlocks() {
        let base = SchedulerFixture(limit: 1).session("a")
        let fixture = base.with { f in
            f.leases = [LeaseRecord(id: "L1", sessionID: "a", shared: false, holder: schedulerHolder(100),
                                    acquiredAt: f.now - 10, expiresAt: f.now.nextUp)]
        }
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [], action: .wait(.atLimit)))
    }

    @Test func deadAndExpiredLeaseIsReportedOnceAsHolderDead() {
        let fixture = SchedulerFixture(limit: 1).session("a").lease("L1", on: "a", pid: 7, expiresIn: -5).dead(7)
        #expect(fixture.decide().housekeeping == [.deleteLease(id: "L1", sessionID: "a", reason: .holderDead)])
    }

    @Test func refreshExpiredUnleasedSessionIsLoggedOut() {
        let fixture = SchedulerFixture(limit: 2)
            .session("dead", access: -500, refresh: -100)
            .session("busy").lease("L1", on: "busy")
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [], action: .logout(sessionIDs: ["dead"])))
    }

    @Test func refreshExpiredButLeasedSessionIsNotLoggedOut() {
        let fixture = SchedulerFixture(limit: 1).session("a", access: -500, refresh: -100).lease("L1", on: "a")
        #expect(fixture.action() == .wait(.atLimit))
    }

    @Test func allVictimsAreNamedTogether() {
        let fixture = SchedulerFixture(limit: 3)
            .session("x", refresh: -1)
            .session("y", refresh: 2)
            .session("z").lease("L1", on: "z")
        #expect(fixture.action() == .logout(sessionIDs: ["x", "y"]))
    }

    @Test func refreshExpiredSessionIsNotLoggedOutBelowTheLimit() {
        let fixture = SchedulerFixture(limit: 2).session("dead", refresh: -100)
        #expect(fixture.action() == .login)
    }

    @Test func staleSessionLoggedOutOnlyOnceItsHandedOutTokenExpired() {
        // Stale (refresh ends in 40 s < 60 s) but usable: access valid 35 s, minValidity 30.
        let out = SchedulerFixture(limit: 1).session("a", access: 35, refresh: 40, handedOut: 35)
        #expect(out.action() == .use(sessionID: "a"))
        let expired = SchedulerFixture(limit: 1).session("a", access: 35, refresh: 40, handedOut: 0)
        #expect(expired.action() == .logout(sessionIDs: ["a"]))
    }

    @Test func staleSessionWithHandedOutTokenIsRefreshedWhenTooShort() {
        let fixture = SchedulerFixture(limit: 1).session("a", access: 5, refresh: 40, handedOut: 5)
        #expect(fixture.action() == .refresh(sessionID: "a"))
    }

    @Test func staleSessionWithLeaseIsNotLoggedOut() {
        let fixture = SchedulerFixture(limit: 1).session("a", refresh: 40, handedOut: -10).lease("L1", on: "a")
        #expect(fixture.action() == .wait(.atLimit))
    }

    @Test func loggingOutSessionIsRetriedOnceItsClaimLapsed() {
        let lapsed = SchedulerFixture(limit: 1).session("a", state: .loggingOut, logoutClaimFor: 0)
        #expect(lapsed.decide() == SchedulerPlan(housekeeping: [], action: .logout(sessionIDs: ["a"])))
        let noClaim = SchedulerFixture(limit: 1).session("a", state: .loggingOut)
        #expect(noClaim.action() == .logout(sessionIDs: ["a"]))
        let claimed = SchedulerFixture(limit: 1).session("a", state: .loggingOut, logoutClaimFor: 0.001)
        #expect(claimed.action() == .wait(.atLimit))
    }

    @Test func loggingOutSessionIsNeverUsed() {
        // A valid access token on a session being logged out: still counts, never handed out.
        let fixture = SchedulerFixture(limit: 2).session("a", access: 300, state: .loggingOut, logoutClaimFor: 10)
        #expect(fixture.action() == .login)
        #expect(fixture.account { $0.sessionLimit = 1 }.action() == .wait(.atLimit))
    }

    @Test func unknownLoginCountsUntilIdleTimeoutPlusGracePassed() {
        // idle timeout 1800 + grace 120 = 1920 s.
        let base = SchedulerFixture(limit: 1).account { $0.idleTimeout = 1_800 }
        func fixture(startedAt: Double) -> SchedulerFixture {
            base.with { f in
                f.logins = [LoginRecord(id: "lost", state: .unknown, holder: schedulerHolder(9), startedAt: startedAt,
                                        deadline: startedAt + 30)]
            }
        }
        #expect(fixture(startedAt: base.now - 1_920).decide() == SchedulerPlan(housekeeping: [], action: .wait(.atLimit)))
        #expect(fixture(startedAt: (base.now - 1_920).nextDown).decide() == SchedulerPlan(
            housekeeping: [.deleteLogin(id: "lost")], action: .login))
    }

    @Test func unknownLoginUsesDefaultIdleTimeoutWhenIAMToldNone() {
        let base = SchedulerFixture(limit: 1).policy { $0.defaultIdleTimeout = 100; $0.idleGrace = 50 }
        #expect(base.login("lost", state: .unknown, startedAgo: 100).action() == .wait(.atLimit))
        #expect(base.login("lost", state: .unknown, startedAgo: 100.5).decide()
            == SchedulerPlan(housekeeping: [.deleteLogin(id: "lost")], action: .login))
    }

    @Test func inFlightLoginWhoseHolderDiedBecomesUnknownAndStillCounts() {
        let fixture = SchedulerFixture(limit: 1).login("in", state: .inFlight, pid: 9, startedAgo: 3).dead(9)
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [.markLoginUnknown(id: "in")], action: .wait(.atLimit)))
        // Alive, it counts and needs no housekeeping.
        #expect(SchedulerFixture(limit: 1).login("in", pid: 9).decide() == SchedulerPlan(housekeeping: [], action: .wait(.atLimit)))
    }

    @Test func deadInFlightLoginPastIdleTimeoutIsMarkedUnknownThenDeleted() {
        let fixture = SchedulerFixture(limit: 1).login("in", state: .inFlight, pid: 9, startedAgo: 5_000).dead(9)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.markLoginUnknown(id: "in"), .deleteLogin(id: "in")], action: .login))
    }

    @Test func inFlightLoginOfLiveHolderIsNotAgedOut() {
        // Only unknown outcomes age out; a live holder will record success or failure itself.
        let fixture = SchedulerFixture(limit: 1).login("in", state: .inFlight, pid: 9, startedAgo: 5_000)
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [], action: .wait(.atLimit)))
    }

    @Test func deadInFlightLoginMadeUnknownIsReconciledInTheSameDecision() {
        let fixture = SchedulerFixture(limit: 2)
            .session("a", access: 300).lease("L1", on: "a")
            .login("in", pid: 9).dead(9)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.markLoginUnknown(id: "in")], action: .reconcile(loginIDs: ["in"], viaSession: "a")))
    }

    // MARK: Reconcile

    /// At the limit: a leased session with a valid token and one lost login.
    static let reconcilable = SchedulerFixture(limit: 2)
        .session("a", access: 300).lease("L1", on: "a")
        .login("lost", state: .unknown)

    @Test func reconcileOfferedWhenLostLoginAndValidSessionExist() {
        #expect(Self.reconcilable.decide() == SchedulerPlan(
            housekeeping: [], action: .reconcile(loginIDs: ["lost"], viaSession: "a")))
    }

    @Test func reconcileNotOfferedWithoutUnknownLogin() {
        let fixture = Self.reconcilable.with { $0.logins[0].state = .inFlight }
        #expect(fixture.action() == .wait(.atLimit))
    }

    @Test func reconcileNotOfferedWithoutSessionWithValidAccessToken() {
        let fixture = Self.reconcilable.with { $0.sessions[0].accessExpiresAt = $0.now - 1 }
        #expect(fixture.action() == .wait(.atLimit))
    }

    @Test func reconcileNotOfferedViaLoggingOutSession() {
        let fixture = SchedulerFixture(limit: 2)
            .session("leaving", access: 300, state: .loggingOut, logoutClaimFor: 20)
            .login("lost", state: .unknown)
        #expect(fixture.action() == .wait(.atLimit))
    }

    @Test func reconcileWaitsForReconcileInterval() {
        let now = Self.reconcilable.now
        let recent = Self.reconcilable.account { $0.lastReconcileAt = (now - 5).nextUp }
        #expect(recent.action() == .wait(.atLimit))
        let due = Self.reconcilable.account { $0.lastReconcileAt = now - 5 }
        #expect(due.action() == .reconcile(loginIDs: ["lost"], viaSession: "a"))
    }

    @Test func reconcileNamesAllLostLoginsAndProbesWithLongestLivedToken() {
        let fixture = SchedulerFixture(limit: 4)
            .session("short", access: 60).lease("L1", on: "short")
            .session("long", access: 250).lease("L2", on: "long")
            .login("lost1", state: .unknown)
            .login("lost2", state: .unknown)
        #expect(fixture.action() == .reconcile(loginIDs: ["lost1", "lost2"], viaSession: "long"))
    }

    @Test func reconcileProbesWithAShortLivedTokenWhenTheIAMIssuesOnlyThose() {
        // 2 s access tokens: a probe needs half a second left, not 2 s (which none would ever have).
        let short = Self.reconcilable.account { $0.accessLifetime = 2 }.with { $0.sessions[0].accessExpiresAt = $0.now + 1.5 }
        #expect(short.action() == .reconcile(loginIDs: ["lost"], viaSession: "a"))
        let spent = short.with { $0.sessions[0].accessExpiresAt = $0.now + 0.4 }
        #expect(spent.action() == .wait(.atLimit))
        // Unknown lifetime: the 2 s margin.
        let unknown = Self.reconcilable.with { $0.sessions[0].accessExpiresAt = $0.now + 1.5 }
        #expect(unknown.action() == .wait(.atLimit))
    }

    @Test func reconcileWaitsWhileALiveLoginIsInFlight() {
        // The live login's session may exist at the IAM already, unknown to the registry: it would
        // look like the lost login's orphan.
        let fixture = Self.reconcilable.account { $0.sessionLimit = 3 }.login("inflight", pid: 9)
        #expect(fixture.action() == .wait(.atLimit))
        let finished = Self.reconcilable.account { $0.sessionLimit = 3 }.login("inflight", pid: 9).dead(9)
        #expect(finished.action() == .reconcile(loginIDs: ["lost", "inflight"], viaSession: "a"))
    }

    @Test func pruneReconcilesWithoutWaitingForTheInterval() {
        let recent = Self.reconcilable.account { $0.lastReconcileAt = Self.reconcilable.now - 1 }
        #expect(recent.scheduler.reconcileAction(recent.snapshot, now: recent.now) == nil)
        #expect(recent.scheduler.reconcileAction(recent.snapshot, now: recent.now, ignoringInterval: true)
            == .reconcile(loginIDs: ["lost"], viaSession: "a"))
    }

    @Test func reconcileIsNotOfferedBelowTheLimit() {
        let fixture = Self.reconcilable.account { $0.sessionLimit = 3 }
        #expect(fixture.action() == .login)
    }

    @Test func logoutVictimsComeBeforeReconcile() {
        let fixture = Self.reconcilable.account { $0.sessionLimit = 3 }.session("dead", refresh: -1)
        #expect(fixture.action() == .logout(sessionIDs: ["dead"]))
    }
}

@Suite("Rule 5: waiting, first come first served")
struct LeaseSchedulerWaitTests {
    @Test func waitsAtLimit() {
        let fixture = SchedulerFixture(limit: 1).session("a").lease("L1", on: "a")
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [], action: .wait(.atLimit)))
    }

    @Test func waitsForPeerRefreshingTheOnlySession() {
        let fixture = SchedulerFixture(limit: 1)
            .session("a", access: 1, refreshClaim: "L1", claimFor: 10)
            .lease("L1", on: "a", shared: true)
        #expect(fixture.decide(shared: true) == SchedulerPlan(housekeeping: [], action: .wait(.refreshInProgress)))
        #expect(fixture.action(shared: false) == .wait(.refreshInProgress))
    }

    @Test func queuedBehindLiveWaiterWithoutTicket() {
        // An idle usable session and free slots: the newcomer still may not overtake.
        let fixture = SchedulerFixture(limit: 3).session("a").waiter(5)
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [], action: .wait(.queued)))
    }

    @Test func ticketHolderProceedsWhenNoOlderLiveWaiter() {
        let fixture = SchedulerFixture(limit: 3).session("a").waiter(5).waiter(7)
        #expect(fixture.action(ticket: 5) == .use(sessionID: "a"))
        #expect(fixture.action(ticket: 7) == .wait(.queued))
        #expect(fixture.action(ticket: 6) == .wait(.queued))
        #expect(fixture.action(ticket: 4) == .use(sessionID: "a"))
    }

    @Test func deadWaiterIsRemovedAndDoesNotBlock() {
        let fixture = SchedulerFixture(limit: 3).session("a").waiter(3, pid: 33).dead(33)
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [.deleteWaiter(ticket: 3)], action: .use(sessionID: "a")))
        #expect(fixture.action(ticket: 9) == .use(sessionID: "a"))
    }

    @Test func waiterWithoutRecentHeartbeatIsRemovedAndDoesNotBlock() {
        // waiterTimeout 10 s: a heartbeat exactly 10 s old is gone; a moment younger it blocks.
        let base = SchedulerFixture(limit: 3).session("a")
        func fixture(heartbeatAt: Double) -> SchedulerFixture {
            base.with { f in f.waiters = [WaiterRecord(ticket: 3, holder: schedulerHolder(33), enqueuedAt: 0, heartbeatAt: heartbeatAt)] }
        }
        #expect(fixture(heartbeatAt: base.now - 10).decide()
            == SchedulerPlan(housekeeping: [.deleteWaiter(ticket: 3)], action: .use(sessionID: "a")))
        #expect(fixture(heartbeatAt: (base.now - 10).nextUp).decide()
            == SchedulerPlan(housekeeping: [], action: .wait(.queued)))
    }

    @Test func onlyDeadOlderWaitersAreSkipped() {
        let fixture = SchedulerFixture(limit: 3).session("a")
            .waiter(1, pid: 31).waiter(2, pid: 32).waiter(3, pid: 33)
            .dead(31)
        let plan = fixture.decide(ticket: 3)
        #expect(plan.housekeeping == [.deleteWaiter(ticket: 1)])
        #expect(plan.action == .wait(.queued))
        #expect(fixture.action(ticket: 2) == .use(sessionID: "a"))
    }

    @Test func queuedCallerStillGetsHousekeeping() {
        let fixture = SchedulerFixture(limit: 1).session("a").lease("L1", on: "a", pid: 7).dead(7).waiter(5)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.deleteLease(id: "L1", sessionID: "a", reason: .holderDead)], action: .wait(.queued)))
    }
}

@Suite("Refresh claims")
struct LeaseSchedulerRefreshClaimTests {
    @Test func claimWhoseLeaseIsGoneIsClearedAndSessionUsable() {
        let fixture = SchedulerFixture(limit: 1).session("a", refreshClaim: "L9", claimFor: 20)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.clearRefreshClaim(sessionID: "a")], action: .use(sessionID: "a")))
    }

    @Test func claimWhoseLeaseHolderDiedIsCleared() {
        let fixture = SchedulerFixture(limit: 1)
            .session("a", access: 1, refreshClaim: "L1", claimFor: 20)
            .lease("L1", on: "a", pid: 7).dead(7)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.deleteLease(id: "L1", sessionID: "a", reason: .holderDead), .clearRefreshClaim(sessionID: "a")],
            action: .refresh(sessionID: "a")))
    }

    @Test func lapsedClaimIsClearedEvenWithLiveClaimant() {
        let fixture = SchedulerFixture(limit: 1)
            .session("a", refreshClaim: "L1", claimFor: 0)
            .lease("L1", on: "a", shared: true)
        #expect(fixture.decide(shared: true) == SchedulerPlan(
            housekeeping: [.clearRefreshClaim(sessionID: "a")], action: .use(sessionID: "a")))
    }

    @Test func claimWithoutExpiryIsTreatedAsLapsed() {
        let fixture = SchedulerFixture(limit: 1)
            .session("a", refreshClaim: "L1")
            .lease("L1", on: "a", shared: true)
            .with { $0.sessions[0].refreshClaimUntil = nil }
        #expect(fixture.decide(shared: true).housekeeping == [.clearRefreshClaim(sessionID: "a")])
    }

    @Test func liveClaimIsKept() {
        let fixture = SchedulerFixture(limit: 1)
            .session("a", refreshClaim: "L1", claimFor: 0.001)
            .lease("L1", on: "a", shared: true)
        #expect(fixture.decide(shared: true) == SchedulerPlan(housekeeping: [], action: .wait(.refreshInProgress)))
    }

    @Test func clearedClaimOnLoggingOutSessionDoesNotMakeItUsable() {
        let fixture = SchedulerFixture(limit: 1).session("a", state: .loggingOut, refreshClaim: "L9", logoutClaimFor: 20)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.clearRefreshClaim(sessionID: "a")], action: .wait(.atLimit)))
    }
}

/// A blocked login (limiter denial) leaves the caller where a full account does: rule 4 must still
/// free what cannot serve, reconcile lost logins and let a stale session serve. Only a logout removes
/// a session row, so waiting instead would hold dead sessions' slots for ever.
@Suite("Blocked logins still run rule 4")
struct LeaseSchedulerBlockedLoginTests {
    /// Five allowed by configuration, but after three denials the IAM let us hold only `effective`.
    static func denied(effective: Int) -> SchedulerFixture {
        SchedulerFixture(limit: 5).withoutAccountAPI().account { $0.consecutiveDenials = 3; $0.effectiveCapacity = effective }
    }

    @Test func atEffectiveCapacityRefreshExpiredSessionIsLoggedOut() {
        let fixture = Self.denied(effective: 1).session("dead", access: -500, refresh: -100)
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [], action: .logout(sessionIDs: ["dead"])))
    }

    @Test func atEffectiveCapacityLapsedLogoutIsRetried() {
        let fixture = Self.denied(effective: 1).session("leaving", state: .loggingOut, logoutClaimFor: -1)
        #expect(fixture.action() == .logout(sessionIDs: ["leaving"]))
    }

    @Test func atEffectiveCapacityLostLoginIsReconciled() {
        let fixture = Self.denied(effective: 2)
            .session("a", access: 300).lease("L1", on: "a")
            .login("lost", state: .unknown)
        #expect(fixture.action() == .reconcile(loginIDs: ["lost"], viaSession: "a"))
    }

    @Test func atEffectiveCapacityIdleStaleSessionIsLoggedOutToMakeRoom() {
        let fixture = Self.denied(effective: 1).session("stale", access: 50, refresh: 40, handedOut: 0)
        #expect(fixture.action() == .logout(sessionIDs: ["stale"]))
    }

    @Test func atEffectiveCapacityStaleSessionStillOutServes() {
        let fixture = Self.denied(effective: 1).session("stale", access: 50, refresh: 40, handedOut: 50)
        #expect(fixture.action() == .use(sessionID: "stale"))
    }

    @Test func atEffectiveCapacityNothingToFreeWaitsAtLimit() {
        let fixture = Self.denied(effective: 1).session("a").lease("L1", on: "a")
        #expect(fixture.action() == .wait(.atLimit))
        let refreshing = Self.denied(effective: 1)
            .session("a", access: 1, refreshClaim: "L1", claimFor: 10).lease("L1", on: "a")
        #expect(refreshing.action() == .wait(.refreshInProgress))
    }

    /// Below the limit, no login for 30 s.
    static func blocked(limit: Int = 3) -> SchedulerFixture {
        let now = SchedulerFixture().now
        return SchedulerFixture(limit: limit).account { $0.consecutiveDenials = 1; $0.loginBlockedUntil = now + 30 }
    }

    @Test func whileBlockedStaleSessionServesInsteadOfWaiting() {
        // Handed-out token expired: at the limit with logins possible it would be logged out to
        // make room; while no login may follow, logging it out gains nothing and it can serve.
        let fixture = Self.blocked().session("stale", access: 50, refresh: 40, handedOut: 0)
        #expect(fixture.action() == .use(sessionID: "stale"))
        let short = Self.blocked().session("stale", access: 5, refresh: 40, handedOut: 0)
        #expect(short.action() == .refresh(sessionID: "stale"))
    }

    @Test func whileBlockedAtTheLimitStaleSessionServesRatherThanBeingLoggedOut() {
        let fixture = Self.blocked(limit: 1).session("stale", access: 50, refresh: 40, handedOut: 0)
        #expect(fixture.action() == .use(sessionID: "stale"))
        // Once the block has passed, the same session is logged out to make room for a fresh one.
        let unblocked = fixture.account { $0.loginBlockedUntil = fixture.now }
        #expect(unblocked.action() == .logout(sessionIDs: ["stale"]))
    }

    @Test func whileBlockedSessionsThatCannotServeAreStillLoggedOut() {
        let fixture = Self.blocked()
            .session("dead", refresh: -100)
            .session("leaving", state: .loggingOut, logoutClaimFor: -1)
        #expect(fixture.action() == .logout(sessionIDs: ["dead", "leaving"]))
    }

    @Test func whileBlockedLostLoginIsReconciled() {
        let fixture = Self.blocked()
            .session("a", access: 300).lease("L1", on: "a")
            .login("lost", state: .unknown)
        #expect(fixture.action() == .reconcile(loginIDs: ["lost"], viaSession: "a"))
    }

    @Test func whileBlockedNothingToDoWaitsWithBlockReason() {
        let fixture = Self.blocked().session("a").lease("L1", on: "a")
        #expect(fixture.action() == .wait(.loginBlocked(until: fixture.now + 30)))
    }
}

/// A process killed while logging a session out must not hold that slot for the claim's full
/// duration: its claim ends as soon as it is seen dead, and the logout is retried.
@Suite("Logout claims of dead processes")
struct LeaseSchedulerLogoutClaimTests {
    @Test func aDeadClaimersLogoutIsRetriedAtOnce() {
        let fixture = SchedulerFixture(limit: 1)
            .session("leaving", state: .loggingOut, logoutClaimFor: 29, logoutClaimer: 500).dead(500)
        #expect(fixture.decide() == SchedulerPlan(
            housekeeping: [.releaseLogoutClaim(sessionID: "leaving")], action: .logout(sessionIDs: ["leaving"])))
    }

    @Test func aLiveClaimersLogoutIsLeftToIt() {
        let fixture = SchedulerFixture(limit: 1).session("leaving", state: .loggingOut, logoutClaimFor: 29, logoutClaimer: 500)
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [], action: .wait(.atLimit)))
    }

    @Test func aClaimWithoutClaimerKeepsTheTimedRule() {
        // Written by a release before schema 4.
        let fixture = SchedulerFixture(limit: 1).session("leaving", state: .loggingOut, logoutClaimFor: 29)
        #expect(fixture.decide() == SchedulerPlan(housekeeping: [], action: .wait(.atLimit)))
        #expect(fixture.with { $0.now += 29 }.action() == .logout(sessionIDs: ["leaving"]))
    }
}
