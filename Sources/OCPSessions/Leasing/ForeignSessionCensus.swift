/// The user's sessions at the IAM, as the account API lists them, sorted against the registry:
/// ours, orphans of our lost logins, sessions our logins in flight may have created, and the rest,
/// which others hold (a browser, another tool, another registry).
struct ForeignSessionCensus {
    /// Logins of unknown outcome being settled.
    let lostLogins: [LoginRecord]
    /// Sessions of our client, unknown to the registry, started while a lost login was in flight:
    /// the sessions those logins created, to end at the IAM.
    let orphans: [AccountSession]
    /// Sessions held by others.
    let foreign: [AccountSession]

    /// - Parameter lostLoginIDs: the lost logins this census settles (a census before a login
    ///   settles none, but still leaves their possible sessions out of the foreign count).
    init(listed: [AccountSession], snapshot: AccountSnapshot, clientID: String, lostLoginIDs: [String]) {
        let known = Set(snapshot.sessions.map(\.id))
        let unknown = listed.filter { !known.contains($0.id) }
        // While a login is in flight, the session it may already have created looks exactly like
        // an orphan of a lost login (whatever its start time: a login reserved after the listing
        // was requested can still reach the IAM first): ending it would hand its caller a dead
        // token. Settle nothing then; the next census will.
        let settling = !snapshot.logins.contains { $0.state == .inFlight }
        lostLogins = settling ? snapshot.logins.filter { lostLoginIDs.contains($0.id) && $0.state == .unknown } : []
        var orphanIDs = Set<String>()
        var ours = Set<String>()
        for login in snapshot.logins {
            // Clocks differ by a little between the IAM and us: two seconds either side.
            let created = unknown.filter { session in
                session.clientIDs.contains(clientID) && session.started >= login.startedAt - 2
                    && session.started <= login.deadline + 2
            }
            if lostLogins.contains(where: { $0.id == login.id }) {
                orphanIDs.formUnion(created.map(\.id))
            } else if let first = created.first(where: { !ours.contains($0.id) && !orphanIDs.contains($0.id) }) {
                // A login in flight (or lost, not settled now) created at most one session.
                ours.insert(first.id)
            }
        }
        orphans = unknown.filter { orphanIDs.contains($0.id) }
        foreign = unknown.filter { !orphanIDs.contains($0.id) && !ours.contains($0.id) }
    }
}
