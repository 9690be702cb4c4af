import Testing
@testable import OCPSessions

// `LeaseScheduler.renew` for a held lease, and randomised invariants of `decide`.

@Suite("renew: a held lease's token")
struct LeaseSchedulerRenewTests {
    let now: Double = 10_000
    let scheduler = LeaseScheduler(liveness: FakeLiveness())

    func session(
        access: Double = 300, refresh: Double? = 1_800, state: SessionRecord.State = .active,
        claim: String? = nil, claimFor: Double? = nil
    ) -> SessionRecord {
        SessionRecord(id: "a", state: state, accessExpiresAt: now + access, refreshExpiresAt: refresh.map { now + $0 },
                      createdAt: 0, lastUsedAt: now - 5, lastRefreshedAt: now - 5, refreshClaim: claim,
                      refreshClaimUntil: claimFor.map { now + $0 })
    }

    let lease = LeaseRecord(id: "mine", sessionID: "a", shared: true, holder: schedulerHolder(1), acquiredAt: 9_990, expiresAt: 10_600)

    func renew(_ session: SessionRecord?, minValidity: Double = 30, force: Bool = false) -> RenewalDecision {
        scheduler.renew(session: session, lease: lease, minValidity: minValidity, force: force, now: now)
    }

    @Test func currentWhenValid() {
        #expect(renew(session(access: 300)) == .current)
    }

    @Test func currentAtExactlyMinValidityRefreshJustBelow() {
        var exact = session()
        exact.accessExpiresAt = now + 30
        #expect(renew(exact, minValidity: 30) == .current)
        exact.accessExpiresAt = (now + 30).nextDown
        #expect(renew(exact, minValidity: 30) == .refresh)
    }

    @Test func refreshWhenTooShort() {
        #expect(renew(session(access: 10)) == .refresh)
        #expect(renew(session(access: -10)) == .refresh)
    }

    @Test func refreshWhenForcedEvenIfValid() {
        #expect(renew(session(access: 300), force: true) == .refresh)
    }

    @Test func refreshWhenOwnClaimIsHeld() {
        // The claim is ours (taken with the lease): go on refreshing.
        #expect(renew(session(access: 10, claim: "mine", claimFor: 20)) == .refresh)
        #expect(renew(session(access: 300, claim: "mine", claimFor: 20)) == .current)
    }

    @Test func waitForPeerWhenPeerHoldsLiveClaimAndTokenTooShort() {
        #expect(renew(session(access: 10, claim: "peer", claimFor: 20)) == .waitForPeer)
        #expect(renew(session(access: 300, claim: "peer", claimFor: 20), force: true) == .waitForPeer)
    }

    @Test func currentWhenPeerClaimExistsButStoredTokenIsLongEnough() {
        // The peer already wrote back a fresh token: adopt it.
        #expect(renew(session(access: 300, claim: "peer", claimFor: 20)) == .current)
    }

    @Test func peerClaimLapsedMeansRefreshOurselves() {
        #expect(renew(session(access: 10, claim: "peer", claimFor: 0)) == .refresh)
        #expect(renew(session(access: 10, claim: "peer", claimFor: -5)) == .refresh)
        #expect(renew(session(access: 10, claim: "peer", claimFor: 0.001)) == .waitForPeer)
        // A claim without an expiry is not live.
        #expect(renew(session(access: 10, claim: "peer", claimFor: nil)) == .refresh)
    }

    @Test func replaceWhenSessionGone() {
        #expect(renew(nil) == .replace)
        #expect(renew(nil, force: true) == .replace)
    }

    @Test func replaceWhenLoggingOut() {
        #expect(renew(session(access: 300, state: .loggingOut)) == .replace)
    }

    @Test func replaceWhenRefreshTokenWithinRefreshMargin() {
        #expect(renew(session(access: 10, refresh: 4)) == .replace)
        #expect(renew(session(access: 10, refresh: -100)) == .replace)
        #expect(renew(session(access: 300, refresh: 4), force: true) == .replace)
        var edge = session(access: 10)
        edge.refreshExpiresAt = (now + 5).nextDown
        #expect(renew(edge) == .replace)
        edge.refreshExpiresAt = now + 5
        #expect(renew(edge) == .refresh)
    }

    @Test func validTokenNeedsNoRefreshTokenMargin() {
        // The stored access token still serves; replacing is for when a refresh is needed.
        #expect(renew(session(access: 300, refresh: 4)) == .current)
    }

    @Test func noRefreshExpiryMeansRefreshable() {
        #expect(renew(session(access: 10, refresh: nil)) == .refresh)
    }
}

// MARK: - Randomised invariants

/// A random but plausible snapshot and request, with values clustered on the policy's edges.
struct SchedulerRandomCase {
    var fixture: SchedulerFixture
    var request: AcquireRequest

    static func make(_ rng: inout SchedulerRNG) -> SchedulerRandomCase {
        var f = SchedulerFixture(limit: Int.random(in: 1...4, using: &rng), reserve: Int.random(in: 0...1, using: &rng))
        let now = f.now
        func offset(_ choices: [Double], _ rng: inout SchedulerRNG) -> Double {
            Bool.random(using: &rng) ? choices.randomElement(using: &rng)! : Double.random(in: -100...2_000, using: &rng)
        }
        let edges: [Double] = [-100, -1, 0, 1, 4.999, 5, 10, 29, 30, 31, 59.5, 60, 61, 300, 1_800]
        f.account.consecutiveDenials = Int.random(in: 0...4, using: &rng)
        f.account.effectiveCapacity = Bool.random(using: &rng) ? Int.random(in: 0...4, using: &rng) : nil
        f.account.loginBlockedUntil = Int.random(in: 0..<4, using: &rng) == 0 ? now + Double.random(in: -30...30, using: &rng) : nil
        f.account.idleTimeout = Bool.random(using: &rng) ? 1_800 : nil
        f.account.lastReconcileAt = Bool.random(using: &rng) ? now - Double.random(in: 0...10, using: &rng) : nil

        let pids = [100, 101, 102, 103, 104, 200, 201, 300, 301, 302]
        for pid in pids where Int.random(in: 0..<4, using: &rng) == 0 { f = f.dead(pid) }

        let sessionCount = Int.random(in: 0...5, using: &rng)
        let leaseCount = Int.random(in: 0...4, using: &rng)
        let leaseIDs = (0..<leaseCount).map { "L\($0)" }
        for index in 0..<sessionCount {
            let claim: String? = Int.random(in: 0..<3, using: &rng) == 0
                ? (leaseIDs + ["Lgone"]).randomElement(using: &rng) : nil
            f = f.session(
                "s\(index)", access: offset(edges, &rng),
                refresh: Int.random(in: 0..<10, using: &rng) == 0 ? nil : offset(edges, &rng),
                lastUsed: Double(Int.random(in: 0...5, using: &rng)),  // ties on purpose
                state: Int.random(in: 0..<6, using: &rng) == 0 ? .loggingOut : .active,
                handedOut: offset(edges, &rng), refreshClaim: claim,
                claimFor: Double.random(in: -5...30, using: &rng),
                logoutClaimFor: Bool.random(using: &rng) ? Double.random(in: -5...30, using: &rng) : nil)
        }
        for id in leaseIDs {
            let session = sessionCount > 0 && Int.random(in: 0..<8, using: &rng) != 0
                ? "s\(Int.random(in: 0..<sessionCount, using: &rng))" : "orphan"
            f = f.lease(id, on: session, shared: Bool.random(using: &rng), pid: Int.random(in: 100...104, using: &rng),
                        expiresIn: Bool.random(using: &rng) ? 0 : Double.random(in: -10...600, using: &rng))
        }
        for index in 0..<Int.random(in: 0...3, using: &rng) {
            f = f.login("g\(index)", state: Bool.random(using: &rng) ? .inFlight : .unknown,
                        pid: Int.random(in: 200...201, using: &rng),
                        startedAgo: offset([0, 1, 1_919, 1_920, 1_921, 1_930], &rng).magnitude)
        }
        var tickets = Array(Int64(1)...Int64(8))
        tickets.shuffle(using: &rng)
        for ticket in tickets.prefix(Int.random(in: 0...3, using: &rng)) {
            f = f.waiter(ticket, pid: Int.random(in: 300...302, using: &rng),
                         heartbeatAgo: Double.random(in: 0...15, using: &rng))
        }
        let request = AcquireRequest(
            holder: schedulerHolder(1), ticket: Bool.random(using: &rng) ? Int64.random(in: 1...9, using: &rng) : nil,
            minValidity: [0, 10, 30, 100].randomElement(using: &rng)!, shared: Bool.random(using: &rng))
        return SchedulerRandomCase(fixture: f, request: request)
    }
}

@Suite("decide: randomised invariants")
struct LeaseSchedulerPropertyTests {
    static let iterations = 4_000

    /// Checks one plan against rules restated from the snapshot itself; returns the violations.
    static func violations(_ plan: SchedulerPlan, _ c: SchedulerRandomCase) -> [String] {
        let f = c.fixture, now = f.now, policy = f.policy, snapshot = f.snapshot, request = c.request
        var problems: [String] = []
        let alive = { (h: HolderIdentity) in !f.liveness.dead.contains(h) }

        // Housekeeping only removes what is really dead or expired.
        for change in plan.housekeeping {
            switch change {
            case .deleteLease(let id, _, _):
                guard let lease = snapshot.leases.first(where: { $0.id == id }),
                    !alive(lease.holder) || lease.expiresAt <= now else { problems.append("bad \(change)"); continue }
            case .deleteWaiter(let ticket):
                guard let waiter = snapshot.waiters.first(where: { $0.ticket == ticket }),
                    !alive(waiter.holder) || now - waiter.heartbeatAt >= policy.waiterTimeout
                else { problems.append("bad \(change)"); continue }
            case .markLoginUnknown(let id):
                guard let login = snapshot.logins.first(where: { $0.id == id }),
                    login.state == .inFlight, !alive(login.holder) else { problems.append("bad \(change)"); continue }
            case .deleteLogin(let id):
                let idle = snapshot.account.idleTimeout.map { $0 + policy.idleGrace } ?? policy.defaultIdleTimeout
                guard let login = snapshot.logins.first(where: { $0.id == id }),
                    login.state == .unknown || !alive(login.holder), now - login.startedAt > idle
                else { problems.append("bad \(change)"); continue }
            case .clearRefreshClaim(let id):
                guard let session = snapshot.sessions.first(where: { $0.id == id }), session.refreshClaim != nil
                else { problems.append("bad \(change)"); continue }
            case .releaseLogoutClaim(let id):
                guard let session = snapshot.sessions.first(where: { $0.id == id }), session.state == .loggingOut,
                    let claimer = session.logoutClaimer, !alive(claimer), (session.logoutClaimUntil ?? 0) > now
                else { problems.append("bad \(change)"); continue }
            }
        }

        let deletedLeases = Set(plan.housekeeping.compactMap { if case .deleteLease(let id, _, _) = $0 { id } else { nil } })
        let leases = snapshot.leases.filter { !deletedLeases.contains($0.id) }
        let deletedLogins = Set(plan.housekeeping.compactMap { if case .deleteLogin(let id) = $0 { id } else { nil } })
        let logins = snapshot.logins.filter { !deletedLogins.contains($0.id) }
        let cleared = Set(plan.housekeeping.compactMap { if case .clearRefreshClaim(let id) = $0 { id } else { nil } })
        let counted = snapshot.sessions.count + logins.count
        let capacity = max(0, snapshot.account.sessionLimit - snapshot.account.reserve)
        let olderLiveWaiter = snapshot.waiters.contains { w in
            alive(w.holder) && now - w.heartbeatAt < policy.waiterTimeout && (request.ticket.map { w.ticket < $0 } ?? true)
        }
        func liveClaim(_ s: SessionRecord) -> Bool { s.refreshClaim != nil && !cleared.contains(s.id) }

        if olderLiveWaiter && plan.action != .wait(.queued) { problems.append("overtook an older live waiter") }
        if !olderLiveWaiter && plan.action == .wait(.queued) { problems.append("queued with no older live waiter") }

        switch plan.action {
        case .login:
            if counted >= capacity { problems.append("login with counted \(counted) >= capacity \(capacity)") }
            if let until = snapshot.account.loginBlockedUntil, now < until { problems.append("login while blocked") }
            if snapshot.account.consecutiveDenials >= policy.maxConsecutiveDenials,
                let effective = snapshot.account.effectiveCapacity, counted >= effective
            {
                problems.append("login at effective capacity \(effective)")
            }
        case .use(let id), .refresh(let id):
            guard let session = snapshot.sessions.first(where: { $0.id == id }) else {
                problems.append("names unknown session \(id)"); break
            }
            let on = leases.filter { $0.sessionID == id }
            if session.state != .active { problems.append("\(plan.action) on logging_out session") }
            if on.contains(where: { !$0.shared }) { problems.append("\(plan.action) on exclusively leased session") }
            if !request.shared && !on.isEmpty { problems.append("exclusive \(plan.action) on shared session") }
            if liveClaim(session) { problems.append("\(plan.action) on session being refreshed") }
            if let end = session.refreshExpiresAt, end - now < policy.refreshMargin {
                problems.append("\(plan.action) past refresh margin")
            }
            if case .use = plan.action, session.accessExpiresAt - now < request.minValidity {
                problems.append("use of too short token")
            }
        case .logout(let ids):
            if ids.isEmpty { problems.append("empty logout") }
            for id in ids where leases.contains(where: { $0.sessionID == id }) { problems.append("logout of leased \(id)") }
            for id in ids where !snapshot.sessions.contains(where: { $0.id == id }) { problems.append("logout of unknown \(id)") }
        case .reconcile(let ids, let via):
            for id in ids {
                let marked = plan.housekeeping.contains(.markLoginUnknown(id: id))
                guard let login = logins.first(where: { $0.id == id }), login.state == .unknown || marked else {
                    problems.append("reconcile of \(id) not unknown"); continue
                }
            }
            if snapshot.sessions.first(where: { $0.id == via })?.state != .active { problems.append("reconcile via inactive") }
        case .wait(let reason):
            // A wait must not leave dead weight in place: unleased sessions that can never serve
            // again would otherwise hold their slots forever (only a logout removes them).
            if reason != .queued {
                let deadWeight = snapshot.sessions.filter { s in
                    guard !leases.contains(where: { $0.sessionID == s.id }) else { return false }
                    switch s.state {
                    case .loggingOut: return (s.logoutClaimUntil ?? 0) <= now
                    case .active:
                        guard !liveClaim(s), let end = s.refreshExpiresAt else { return false }
                        return end - now < policy.refreshMargin
                    }
                }
                if !deadWeight.isEmpty { problems.append("waits (\(reason)) beside dead weight \(deadWeight.map(\.id))") }
            }
        }
        return problems
    }

    /// The action with order-insensitive parts normalised (victim and login lists; the probe).
    static func normalised(_ action: SchedulerAction) -> SchedulerAction {
        switch action {
        case .logout(let ids): .logout(sessionIDs: ids.sorted())
        case .reconcile(let ids, _): .reconcile(loginIDs: ids.sorted(), viaSession: "")
        default: action
        }
    }

    @Test func randomSnapshotsKeepTheInvariants() {
        var rng = SchedulerRNG(seed: 0x5EED_0C95)
        var failures: [String] = []
        var seen: [String: Int] = [:]
        for iteration in 0..<Self.iterations {
            let c = SchedulerRandomCase.make(&rng)
            let plan = c.fixture.scheduler.decide(c.fixture.snapshot, c.request, now: c.fixture.now)
            seen[String(describing: plan.action).prefix(while: { $0 != "(" }).description, default: 0] += 1
            for problem in Self.violations(plan, c) where failures.count < 10 {
                failures.append("#\(iteration): \(problem)\n  plan: \(plan)\n  request: \(c.request)\n  snapshot: \(c.fixture.snapshot)\n  dead: \(c.fixture.liveness.dead.map(\.pid).sorted())")
            }
            // Deterministic, and independent of the order rows come in.
            var shuffled = c.fixture
            shuffled.sessions.shuffle(using: &rng)
            shuffled.leases.shuffle(using: &rng)
            let again = shuffled.scheduler.decide(shuffled.snapshot, c.request, now: shuffled.now)
            if Self.normalised(again.action) != Self.normalised(plan.action), failures.count < 10 {
                failures.append("#\(iteration): order-dependent: \(plan.action) vs \(again.action)")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        // The generator must actually reach every kind of action.
        for kind in ["use", "refresh", "login", "logout", "reconcile", "wait"] {
            #expect((seen[kind] ?? 0) > 20, "action \(kind) seen \(seen[kind] ?? 0) times: \(seen)")
        }
    }
}
