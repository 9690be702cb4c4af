@testable import OCPSessions

/// Fixtures for the pure lease scheduler: snapshots built relative to a fake `now`, holders whose
/// liveness the test controls. Times given to the builder are offsets from `now` (positive = later).

/// Liveness with a dead set the test controls; everyone else is alive.
struct FakeLiveness: HolderLiveness {
    var dead: Set<HolderIdentity> = []
    func isAlive(_ holder: HolderIdentity) -> Bool { !dead.contains(holder) }
}

/// A holder process, identified by pid (start time, boot id and host fixed).
func schedulerHolder(_ pid: Int) -> HolderIdentity {
    HolderIdentity(pid: pid, startTime: 1_000 + pid, bootID: "boot-1", host: "host-1", label: "p\(pid)")
}

/// A fluent snapshot builder: `SchedulerFixture(limit: 2).session("a").lease("L1", on: "a").decide()`.
struct SchedulerFixture {
    /// The fake clock. 10 000 keeps `x - now` exact for the small offsets used in boundary tests.
    var now: Double = 10_000
    var policy = SchedulerPolicy()
    var account: AccountRecord
    var sessions: [SessionRecord] = []
    var leases: [LeaseRecord] = []
    var logins: [LoginRecord] = []
    var waiters: [WaiterRecord] = []
    var liveness = FakeLiveness()

    init(limit: Int = 3, reserve: Int = 0, now: Double = 10_000) {
        self.now = now
        account = AccountRecord(
            id: 1, key: AccountKey(host: "https://iam.example.com", realm: "master", username: "alice"),
            sessionLimit: limit, reserve: reserve, foreignSessions: 0, foreignCountedAt: now)
    }

    /// By default a census has just found no foreign session, so a login needs no census first:
    /// most tests are about the rules that hold either way. This sets the account API's state.
    func accountAPI(censusAgo: Double? = nil, foreign: Int? = nil, askedAgo: Double? = nil) -> SchedulerFixture {
        var copy = self
        copy.account.accountAPIRefusedUntil = nil
        copy.account.foreignCountedAt = censusAgo.map { now - $0 }
        copy.account.foreignSessions = foreign
        if let foreign, foreign > 0 { copy.account.effectiveCapacity = max(0, account.sessionLimit - foreign) }
        copy.account.lastReconcileAt = askedAgo.map { now - $0 }
        return copy
    }

    /// The user lacks the account roles: no census, limiter denials are the only signal.
    func withoutAccountAPI() -> SchedulerFixture {
        var copy = self
        copy.account.accountAPIRefusedUntil = .infinity
        copy.account.foreignSessions = nil
        copy.account.foreignCountedAt = nil
        return copy
    }

    // MARK: Builders (each returns a modified copy)

    /// A session. `access`/`refresh` are seconds from now until the tokens expire (`refresh: nil`:
    /// no refresh expiry); `lastUsed` is seconds ago; `handedOut` seconds from now until the last
    /// handed-out token expires (default: already expired).
    func session(
        _ id: String, access: Double = 300, refresh: Double? = 1_800, lastUsed: Double = 60,
        state: SessionRecord.State = .active, handedOut: Double = -1, refreshClaim: String? = nil,
        claimFor: Double? = nil, logoutClaimFor: Double? = nil, logoutClaimer: Int? = nil
    ) -> SchedulerFixture {
        var copy = self
        copy.sessions.append(SessionRecord(
            id: id, state: state, accessExpiresAt: now + access, refreshExpiresAt: refresh.map { now + $0 },
            createdAt: now - 3_600, lastUsedAt: now - lastUsed, lastRefreshedAt: now - lastUsed,
            handedOutUntil: now + handedOut, refreshClaim: refreshClaim,
            refreshClaimUntil: claimFor.map { now + $0 } ?? (refreshClaim == nil ? nil : now + 30),
            logoutClaimUntil: logoutClaimFor.map { now + $0 }, logoutClaimer: logoutClaimer.map(schedulerHolder)))
        return copy
    }

    /// A session with absolute expiry times (for exact boundary tests).
    func session(_ record: SessionRecord) -> SchedulerFixture {
        var copy = self
        copy.sessions.append(record)
        return copy
    }

    /// A lease held by `pid` (alive unless `dead(pid)`), expiring `expiresIn` seconds from now.
    func lease(_ id: String, on sessionID: String, shared: Bool = false, pid: Int = 100, expiresIn: Double = 600) -> SchedulerFixture {
        var copy = self
        copy.leases.append(LeaseRecord(
            id: id, sessionID: sessionID, shared: shared, holder: schedulerHolder(pid), acquiredAt: now - 10,
            expiresAt: now + expiresIn))
        return copy
    }

    /// A login reservation started `startedAgo` seconds ago.
    func login(_ id: String, state: LoginRecord.State = .inFlight, pid: Int = 200, startedAgo: Double = 1) -> SchedulerFixture {
        var copy = self
        copy.logins.append(LoginRecord(
            id: id, state: state, holder: schedulerHolder(pid), startedAt: now - startedAgo, deadline: now - startedAgo + 30))
        return copy
    }

    /// A waiter whose last heartbeat was `heartbeatAgo` seconds ago.
    func waiter(_ ticket: Int64, pid: Int = 300, heartbeatAgo: Double = 0.5) -> SchedulerFixture {
        var copy = self
        copy.waiters.append(WaiterRecord(
            ticket: ticket, holder: schedulerHolder(pid), enqueuedAt: now - heartbeatAgo - 1, heartbeatAt: now - heartbeatAgo))
        return copy
    }

    /// Marks the holder with this pid dead.
    func dead(_ pid: Int) -> SchedulerFixture {
        var copy = self
        copy.liveness.dead.insert(schedulerHolder(pid))
        return copy
    }

    func with(_ change: (inout SchedulerFixture) -> Void) -> SchedulerFixture {
        var copy = self
        change(&copy)
        return copy
    }

    func account(_ change: (inout AccountRecord) -> Void) -> SchedulerFixture {
        var copy = self
        change(&copy.account)
        return copy
    }

    func policy(_ change: (inout SchedulerPolicy) -> Void) -> SchedulerFixture {
        var copy = self
        change(&copy.policy)
        return copy
    }

    // MARK: Running the scheduler

    var snapshot: AccountSnapshot {
        AccountSnapshot(account: account, sessions: sessions, leases: leases, logins: logins, waiters: waiters)
    }

    var scheduler: LeaseScheduler { LeaseScheduler(policy: policy, liveness: liveness) }

    func decide(minValidity: Double = 30, shared: Bool = false, ticket: Int64? = nil, pid: Int = 1) -> SchedulerPlan {
        scheduler.decide(
            snapshot, AcquireRequest(holder: schedulerHolder(pid), ticket: ticket, minValidity: minValidity, shared: shared),
            now: now)
    }

    func action(minValidity: Double = 30, shared: Bool = false, ticket: Int64? = nil) -> SchedulerAction {
        decide(minValidity: minValidity, shared: shared, ticket: ticket).action
    }
}

/// A seeded, portable PRNG (SplitMix64) so random tests replay identically everywhere.
struct SchedulerRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
