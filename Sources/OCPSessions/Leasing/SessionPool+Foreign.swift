import Foundation

/// The sessions of an account at the IAM that this registry does not know: a browser, another
/// tool, another registry. They count toward the IAM's limit like ours.
public struct ForeignSessionListing: Sendable, Equatable {
    public var account: AccountKey
    /// As the account API listed them; nil when it could not be asked (see `problem`).
    public var sessions: [AccountSession]?
    /// Why the account API was not asked, or did not answer. One line; never a token.
    public var problem: String?

    public init(account: AccountKey, sessions: [AccountSession]?, problem: String? = nil) {
        self.account = account
        self.sessions = sessions
        self.problem = problem
    }
}

extension SessionPool {
    /// Lists the account's foreign sessions through the account API, asking with the access token
    /// of a session the registry holds: no lease, no login, no password. The count is recorded as
    /// a census, which the next login decision uses.
    public func foreignSessions(account key: AccountKey, resolve: AccountResolver) async -> ForeignSessionListing {
        let now = clock.now()
        let found: (accountID: Int64, sessionID: String, clientID: String, token: String)?
        do {
            found = try readRegistry { tx in
                guard let record = try tx.account(key), let snapshot = try tx.snapshot(accountID: record.id),
                      let probe = scheduler.probeSession(snapshot, now: now),
                      let session = snapshot.sessions.first(where: { $0.id == probe })
                else { return nil }
                return (record.id, probe, session.clientID, try openAccessToken(tx: tx, sessionID: probe))
            }
        } catch {
            return ForeignSessionListing(account: key, sessions: nil, problem: OCPSessionsError.wrap(error).message)
        }
        guard let found else {
            return ForeignSessionListing(
                account: key, sessions: nil,
                problem: "no session of ours with a valid access token to ask the account API with (run 'ocp-sessions token' first)")
        }
        do {
            let configuration = try resolve(key, found.clientID)
            let provider = try await provider(for: configuration, accountID: found.accountID)
            let listed = try await provider.accountSessions(accessToken: found.token)
            return ForeignSessionListing(account: key, sessions: try recordCensus(listed, accountID: found.accountID,
                                                                                     clientID: configuration.clientID))
        } catch {
            return ForeignSessionListing(account: key, sessions: nil, problem: OCPSessionsError.wrap(error).message)
        }
    }

    /// Ends the account's foreign sessions at the IAM (`DELETE account/sessions/{id}`), asking with
    /// the token of a lease taken for the purpose (which may log in). Only on request: the scheduler
    /// never ends a session it does not own. Sessions a login of ours may have just created are
    /// left alone.
    public func revokeForeign(account: AccountConfiguration, options: LeaseOptions) async throws -> [AdminOutcome] {
        let lease = try await acquireLease(account: account, options: options)
        do {
            let outcomes = try await endForeignSessions(account: account, accessToken: lease.accessToken, label: options.label)
            await lease.release()
            return outcomes
        } catch {
            await lease.release()
            throw error
        }
    }

    private func endForeignSessions(account: AccountConfiguration, accessToken: String, label: String) async throws
        -> [AdminOutcome]
    {
        guard let accountID = try readRegistry({ try $0.account(account.key)?.id }) else { return [] }
        let provider = try await provider(for: account, accountID: accountID)
        let listed: [AccountSession]
        do {
            listed = try await provider.accountSessions(accessToken: accessToken)
        } catch {
            throw OCPSessionsError.wrap(error)
        }
        let foreign = try recordCensus(listed, accountID: accountID, clientID: account.clientID)
        var outcomes: [AdminOutcome] = []
        for session in foreign {
            let clients = session.clientIDs.isEmpty ? "no client" : session.clientIDs.joined(separator: ", ")
            do {
                try await provider.deleteAccountSession(id: session.id, accessToken: accessToken)
                let now = clock.now()
                try writeRegistry { tx in
                    try tx.appendEvent(EventRecord(
                        at: now, accountID: accountID, kind: .revoke, sessionID: session.id, pid: Int(getpid()),
                        detail: "foreign session (\(clients)) ended at the IAM by \(label)"))
                }
                outcomes.append(AdminOutcome(sessionID: session.id, account: account.key, result: .revoked,
                                             message: "foreign session (\(clients)) ended at the IAM"))
            } catch {
                let wrapped = OCPSessionsError.wrap(error)
                outcomes.append(AdminOutcome(sessionID: session.id, account: account.key, result: .failed,
                                             message: "foreign session (\(clients)) not ended: \(wrapped.message)",
                                             errorKind: wrapped.kind))
            }
        }
        let left = outcomes.filter { $0.result != .revoked }.count
        if left != foreign.count {
            let now = clock.now()
            try writeRegistry { tx in
                let limit = try tx.account(account.key)?.sessionLimit ?? account.maxSessions
                try tx.recordCensus(accountID: accountID, foreignSessions: left, limit: limit, at: now)
            }
        }
        return outcomes
    }

    /// Sorts the account API's list against the registry and records the foreign count as a census.
    private func recordCensus(_ listed: [AccountSession], accountID: Int64, clientID: String) throws -> [AccountSession] {
        let now = clock.now()
        return try writeRegistry { tx in
            guard let snapshot = try tx.snapshot(accountID: accountID) else { return [] }
            let census = ForeignSessionCensus(listed: listed, snapshot: snapshot, clientID: clientID, lostLoginIDs: [])
            try tx.recordCensus(accountID: accountID, foreignSessions: census.foreign.count,
                                limit: snapshot.account.sessionLimit, at: now)
            return census.foreign
        }
    }
}
