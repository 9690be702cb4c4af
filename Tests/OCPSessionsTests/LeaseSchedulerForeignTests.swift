@testable import OCPSessions
import Testing

/// Sessions others hold at the IAM: the census before a login, logins one at a time while we hold
/// nothing to look with, and the spacing of attempts after limiter denials (fake clock).
@Suite("Lease scheduler: sessions unknown to the registry")
struct LeaseSchedulerForeignTests {
    @Test func aLoginIsPrecededByACensusWhenASessionCanLook() {
        let fixture = SchedulerFixture(limit: 5).accountAPI().session("a").lease("L1", on: "a")
        #expect(fixture.action() == .reconcile(loginIDs: [], viaSession: "a"))
        // Lost logins are settled by the same request.
        #expect(fixture.login("lost", state: .unknown).action() == .reconcile(loginIDs: ["lost"], viaSession: "a"))
        // A session whose access token is about to end cannot look.
        let expiring = SchedulerFixture(limit: 5).accountAPI().session("a", access: 2).lease("L1", on: "a")
        #expect(expiring.action() == .login)
    }

    @Test func aCensusInProgressIsWaitedForUntilItsClaimLapses() {
        let base = SchedulerFixture(limit: 5).session("a").lease("L1", on: "a")
        #expect(base.accountAPI(askedAgo: 1.999).action() == .wait(.loginInProgress))
        #expect(base.accountAPI(askedAgo: 2).action() == .reconcile(loginIDs: [], viaSession: "a"))
    }

    @Test func aFreshCensusDecidesUntilItIsFiveSecondsOld() {
        let base = SchedulerFixture(limit: 5).session("a").lease("L1", on: "a")
        // 3 foreign sessions leave 2 for us: one more login fits.
        #expect(base.accountAPI(censusAgo: 4.999, foreign: 3).action() == .login)
        let full = base.session("b").lease("L2", on: "b")
        #expect(full.accountAPI(censusAgo: 4.999, foreign: 3).action() == .wait(.atLimit))
        // No denial needed: no brute-force failure, no block.
        #expect(full.accountAPI(censusAgo: 4.999, foreign: 3).account.consecutiveDenials == 0)
        // Stale: count again before deciding.
        #expect(full.accountAPI(censusAgo: 5, foreign: 3).action() == .reconcile(loginIDs: [], viaSession: "b"))
        // Nothing foreign: the configured limit applies.
        #expect(full.accountAPI(censusAgo: 1, foreign: 0).action() == .login)
    }

    @Test func withNothingToLookWithLoginsGoOneAtATime() {
        let empty = SchedulerFixture(limit: 5).accountAPI()
        #expect(empty.action() == .login)
        #expect(empty.login("first").action() == .wait(.loginInProgress))
        // A login of unknown outcome makes no session to look with: it does not hold others back.
        #expect(empty.login("lost", state: .unknown).action() == .login)
        // Without the account API, still one at a time: a second login could be refused with the first.
        #expect(SchedulerFixture(limit: 5).withoutAccountAPI().login("first").action() == .wait(.loginInProgress))
        // A census that found nothing foreign lets logins run side by side.
        #expect(empty.accountAPI(censusAgo: 1, foreign: 0).login("first").action() == .login)
    }

    @Test func aRefusedAccountAPIIsNotAskedAgainUntilItsRetryTime() {
        let base = SchedulerFixture(limit: 5).accountAPI().session("a").lease("L1", on: "a")
        let refused = base.account { $0.accountAPIRefusedUntil = base.now + 1 }
        #expect(refused.action() == .login)
        #expect(refused.login("other").action() == .wait(.loginInProgress))
        let retry = base.account { $0.accountAPIRefusedUntil = base.now }
        #expect(retry.action() == .reconcile(loginIDs: [], viaSession: "a"))
    }

    @Test func afterTheDenialBudgetNoBlindAttemptUntilFailuresAreForgotten() {
        // Foreign sessions filled the limit; we hold none, so no census is possible.
        func fixture(denials: Int, lastDenialAgo: Double) -> SchedulerFixture {
            let base = SchedulerFixture(limit: 5).withoutAccountAPI()
            return base.account {
                $0.consecutiveDenials = denials
                $0.effectiveCapacity = 0
                $0.idleTimeout = 1800
                $0.loginBlockedUntil = base.now - lastDenialAgo + 60
            }
        }
        // The 4th attempt comes an idle timeout after the 3rd denial.
        #expect(fixture(denials: 3, lastDenialAgo: 1920).action() == .login)
        // After the 4th denial, nothing until Keycloak forgets the failures (12 h)...
        #expect(fixture(denials: 4, lastDenialAgo: 1920).action() == .wait(.atLimit))
        #expect(fixture(denials: 4, lastDenialAgo: 43_199).action() == .wait(.atLimit))
        // ...then one attempt, which is the first failure of a new window if it is refused.
        #expect(fixture(denials: 4, lastDenialAgo: 43_200).action() == .login)
        #expect(fixture(denials: 5, lastDenialAgo: 43_200).action() == .login)
    }

    /// Brute-force detection locks an account after `factor` failures in a row within 12 h. Drive
    /// the scheduler through 3 days of an IAM whose limit foreign sessions fill, one minute at a
    /// time, and count the failures the IAM would have seen.
    @Test func aFullIAMNeverGetsFiveFailuresInARowWithinTwelveHours() {
        var fixture = SchedulerFixture(limit: 5).withoutAccountAPI().account { $0.idleTimeout = 1800 }
        var failures: [Double] = []
        for _ in 0..<(3 * 24 * 60) {
            fixture.now += 60
            if fixture.action() == .login {
                failures.append(fixture.now)
                fixture.account.consecutiveDenials += 1
                fixture.account.effectiveCapacity = 0
                fixture.account.loginBlockedUntil = fixture.now + fixture.policy.loginBlockAfterDenial
            }
        }
        let worstWindow = failures.indices.map { start in
            failures[start...].prefix { $0 - failures[start] < 43_200 }.count
        }.max() ?? 0
        #expect(worstWindow <= 4)
        #expect(failures.count >= 6, "it keeps trying, twice a day: \(failures.count)")
    }

    @Test func aCensusShowingRoomLetsALoginThroughAfterDenials() {
        let base = SchedulerFixture(limit: 5).session("a").lease("L1", on: "a")
            .account { $0.consecutiveDenials = 4; $0.loginBlockedUntil = 10_000 - 1 }
        // The census found the foreign sessions gone (effective capacity cleared).
        #expect(base.accountAPI(censusAgo: 1, foreign: 0).action() == .login)
        // It found them still there: no attempt.
        #expect(base.accountAPI(censusAgo: 1, foreign: 4).action() == .wait(.atLimit))
    }

    @Test func theCensusSortsOursOrphansAndForeign() {
        let now = 10_000.0
        let snapshot = SchedulerFixture(limit: 5, now: now).session("ours")
            .login("flying", startedAgo: 1).login("lost", state: .unknown, startedAgo: 100).snapshot
        let listed = [
            AccountSession(id: "ours", started: now - 3_600, lastAccess: now, clientIDs: ["ocp"]),
            AccountSession(id: "from-flying", started: now - 0.5, lastAccess: now, clientIDs: ["ocp"]),
            AccountSession(id: "from-lost", started: now - 99, lastAccess: now, clientIDs: ["ocp"]),
            AccountSession(id: "browser", started: now - 99, lastAccess: now, clientIDs: ["account-console"]),
            AccountSession(id: "other-tool", started: now - 7_200, lastAccess: now, clientIDs: ["ocp"]),
        ]
        // A login in flight: its new session could pass for an orphan, so nothing is settled.
        let waiting = ForeignSessionCensus(listed: listed, snapshot: snapshot, clientID: "ocp", lostLoginIDs: ["lost"])
        #expect(waiting.orphans.isEmpty && waiting.lostLogins.isEmpty)
        #expect(waiting.foreign.map(\.id) == ["browser", "other-tool"])
        // Once it landed (its session is known), the lost login's session is an orphan.
        let landed = SchedulerFixture(limit: 5, now: now).session("ours").session("from-flying")
            .login("lost", state: .unknown, startedAgo: 100).snapshot
        let settling = ForeignSessionCensus(listed: listed, snapshot: landed, clientID: "ocp", lostLoginIDs: ["lost"])
        #expect(settling.orphans.map(\.id) == ["from-lost"])
        #expect(settling.lostLogins.map(\.id) == ["lost"])
        #expect(settling.foreign.map(\.id) == ["browser", "other-tool"])
        // A census before a login settles nothing, and still does not count our logins' sessions.
        let counting = ForeignSessionCensus(listed: listed, snapshot: snapshot, clientID: "ocp", lostLoginIDs: [])
        #expect(counting.orphans.isEmpty)
        #expect(counting.foreign.map(\.id) == ["browser", "other-tool"])
    }
}
