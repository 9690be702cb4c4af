/// The one-line message of a caller that waited in vain: who holds the sessions.
enum WaitDescription {
    static func describe(
        _ reason: WaitReason, snapshot: AccountSnapshot, scheduler: LeaseScheduler, waited: Double, now: Double
    ) -> String {
        let account = snapshot.account
        let name = "\(account.key.username)@\(account.key.realm)"
        let waitedText = "waited \(Int(waited.rounded()))s"
        if case .loginBlocked(let until) = reason, snapshot.sessions.isEmpty {
            return "the IAM refused new sessions for \(name) (sessions unknown to this registry hold the limit); next login attempt in \(Int((until - now).rounded(.up)))s; \(waitedText) — see 'ocp-sessions status'"
        }
        var parts: [String] = []
        var byLabel: [String: [Int]] = [:]
        for lease in snapshot.leases { byLabel[lease.holder.label, default: []].append(lease.holder.pid) }
        let leasedSessions = Set(snapshot.leases.map(\.sessionID)).count
        if leasedSessions > 0 {
            let holders = byLabel.keys.sorted().map { label in
                let pids = byLabel[label, default: []].sorted().map(String.init).joined(separator: ", ")
                return "'\(label)' pid\(byLabel[label, default: []].count == 1 ? "" : "s") \(pids)"
            }.joined(separator: "; ")
            parts.append("\(leasedSessions) leased by \(holders)")
        }
        if !snapshot.logins.isEmpty { parts.append("\(snapshot.logins.count) logging in") }
        let loggingOut = snapshot.sessions.filter { $0.state == .loggingOut }.count
        if loggingOut > 0 { parts.append("\(loggingOut) logging out") }
        let capacity = scheduler.capacity(account)
        if let effective = account.effectiveCapacity, effective < capacity {
            parts.append("\(capacity - effective) unknown to this registry")
        }
        if account.reserve > 0 { parts.append("\(account.reserve) reserved") }
        let detail = parts.isEmpty ? "" : " (\(parts.joined(separator: "; ")))"
        return "all \(account.sessionLimit) sessions for \(name) are in use\(detail); \(waitedText)"
    }
}
