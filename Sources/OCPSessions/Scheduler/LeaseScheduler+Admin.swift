/// The rules of the admin operations (`revoke`, `prune`), as pure functions of a tidied snapshot
/// and `now`, beside the acquire rules they must agree with.
extension LeaseScheduler {
    /// Why a session may not be logged out without `--force`, or nil when it may.
    public func revocationBlocker(_ session: SessionRecord, in state: AccountSnapshot, now: Double) -> String? {
        let holders = state.leases.filter { $0.sessionID == session.id }
        if let lease = holders.first {
            let who = holders.count == 1 ? "'\(lease.holder.label)' pid \(lease.holder.pid)" : "\(holders.count) holders"
            return "leased by \(who)"
        }
        if session.state == .active, session.handedOutUntil > now {
            return "a token handed out from it is valid for \(Int((session.handedOutUntil - now).rounded(.up)))s more"
        }
        return nil
    }

    /// Whether a session is idle: active, unleased and not being refreshed.
    public func isIdle(_ session: SessionRecord, in state: AccountSnapshot, now: Double) -> Bool {
        guard session.state == .active, !state.leases.contains(where: { $0.sessionID == session.id }) else { return false }
        if session.refreshClaim != nil, (session.refreshClaimUntil ?? 0) > now { return false }
        return true
    }

    /// What `prune` logs out of a tidied snapshot: logouts to retry (claim lapsed), sessions whose
    /// refresh token has expired, and sessions unused for longer than `idleTimeout`. Never a leased
    /// session, one being refreshed, or one whose handed-out access token is still valid
    /// (`ignoringHandedOutTokens` lifts that last rule, to count what it protects).
    public func pruneVictims(
        _ state: AccountSnapshot, idleTimeout: Double, now: Double, ignoringHandedOutTokens: Bool = false
    ) -> [(sessionID: String, reason: PruneReason)] {
        state.sessions.compactMap { session in
            guard !state.leases.contains(where: { $0.sessionID == session.id }) else { return nil }
            switch session.state {
            case .loggingOut:
                return (session.logoutClaimUntil ?? 0) <= now ? (session.id, .retry) : nil
            case .active:
                guard isIdle(session, in: state, now: now), ignoringHandedOutTokens || session.handedOutUntil <= now else {
                    return nil
                }
                if let refreshEnd = session.refreshExpiresAt, refreshEnd - now < policy.refreshMargin {
                    return (session.id, .expired)
                }
                return now - session.lastUsedAt > idleTimeout ? (session.id, .idle) : nil
            }
        }
    }
}

/// Small rules of the executor's loop, kept here so every timing rule lives in the scheduler.
extension LeaseScheduler {
    /// Whether tokens living `lifetime` seconds can be handed out with `minValidity` left. A token is
    /// never fresher than its lifetime less the request's latency, so asking for (nearly) the whole
    /// lifetime would refresh on every call: at most 90% of it can be promised.
    public static func canPromise(minValidity: Double, lifetime: Double) -> Bool {
        minValidity <= lifetime * 0.9
    }

    /// Whether a waiter last seen at `heartbeatAt` renews its heartbeat now. A heartbeat is a commit,
    /// and every commit wakes the other waiters, so it is renewed every quarter of the timeout only.
    public func waiterNeedsHeartbeat(lastAt heartbeatAt: Double, now: Double) -> Bool {
        now - heartbeatAt >= policy.waiterTimeout / 4
    }
}

/// Why `prune` logs a session out.
public enum PruneReason: String, Sendable {
    /// A logout that was not confirmed before, retried now that its claim lapsed.
    case retry
    /// Its refresh token expired (or is about to): it cannot serve any more.
    case expired
    /// Unused for longer than the idle timeout.
    case idle
}

/// How a caller waits for a session: a short spin first, then a place in the queue.
extension LeaseScheduler {
    /// How long a caller that finds every session busy retries before it takes a place in the
    /// queue. Most leases are short (`token` holds one for well under a millisecond), so most
    /// shortages end within it, and a queue entry (a commit, and the FIFO rule that then makes every
    /// newcomer wait behind it) is avoided.
    public static let spinBeforeQueueing: Double = 0.002

    /// Whether a caller told to wait for `reason` takes a place in the queue now, having first been
    /// told to wait at `spinningSince` (monotonic seconds; nil: just now). Only `.atLimit` spins:
    /// behind queued callers the FIFO rule holds anyway, and a login block or a peer's refresh lasts
    /// far longer than a spin. A spinning caller is not yet in the queue, so other callers that are
    /// not queued either may overtake it; queued callers are served first come, first served.
    public func queues(_ reason: WaitReason, spinningSince: Double?, now: Double) -> Bool {
        guard reason == .atLimit, let since = spinningSince else { return reason != .atLimit }
        return now - since >= Self.spinBeforeQueueing
    }

    /// How long a waiter sleeps before it looks at the registry again. `position` is its place in
    /// the queue as last seen (0: first; nil: not queued, spinning); `changed` says whether the
    /// registry changed since the last look. A spinning caller and the first in the queue look every
    /// 0.2 ms: a freed session must not sit idle while newcomers wait behind them. The others look
    /// every millisecond while the registry changes, and back off to 8 ms while nothing happens, so
    /// that a long queue leaves the CPU to the processes holding leases and the write lock.
    public func pollInterval(after previous: Double?, position: Int?, changed: Bool) -> Double {
        guard let position, position > 0 else { return 0.0002 }
        guard let previous, !changed, previous >= 0.001 else { return 0.001 }
        return min(0.008, previous * 2)
    }
}
