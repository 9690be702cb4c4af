/// Brute-force detection reduced to what matters for clients: after `failureFactor` consecutive
/// failures the user is locked for `lockoutSeconds`, and a locked user's logins fail exactly like
/// a wrong password (§3.2). Limiter denials count as failures (#44474).
struct BruteForceGuard: Sendable {
    private let policy: BruteForce?
    private var consecutiveFailures: [String: Int] = [:]
    private var lockedUntil: [String: Double] = [:]

    init(policy: BruteForce?) {
        self.policy = policy
    }

    func isLocked(_ username: String, now: Double) -> Bool {
        guard let until = lockedUntil[username] else { return false }
        return now < until
    }

    mutating func recordFailure(_ username: String, now: Double) {
        guard let policy else { return }
        let failures = consecutiveFailures[username, default: 0] + 1
        if failures >= policy.failureFactor {
            lockedUntil[username] = now + policy.lockoutSeconds
            consecutiveFailures[username] = 0
        } else {
            consecutiveFailures[username] = failures
        }
    }

    mutating func recordSuccess(_ username: String) {
        consecutiveFailures[username] = nil
    }
}
