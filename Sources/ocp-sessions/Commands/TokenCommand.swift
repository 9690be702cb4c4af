import ArgumentParser
import Foundation
import OCPSessions

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print an access token valid for at least --min-validity seconds.",
        discussion: """
            Takes a lease, makes sure its token is valid long enough, prints it alone on stdout and
            releases the lease (the session goes back to the pool; it is not logged out).

            Example:
              curl -H "Authorization: Bearer $(ocp-sessions token)" https://api.example.com/things
            """
    )

    @OptionGroup var account: AccountOptions
    @OptionGroup var lease: LeaseFlags
    @Flag(name: .customLong("force-refresh"), help: "Refresh even when the cached token is fresh enough.")
    var forceRefresh = false
    @Flag(help: "Print {access_token, expires_at, session_id, lease_id} as JSON.")
    var json = false
    @Option(name: .customLong("lease"), help: "Return a fresh token for a lease already held (by exec) without taking another.")
    var heldLease: String?

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account) { context in
            let token: String
            let expiresAt: Double
            let sessionID: String
            let leaseID: String
            if let heldLease {
                // A lease held by another process (exec): never taken over, no password needed.
                let held = try await context.pool.heldLeaseToken(
                    leaseID: heldLease, minValidity: lease.minValidity, forceRefresh: forceRefresh, waitTimeout: lease.wait,
                    resolve: try context.settings.resolver())
                (token, expiresAt, sessionID, leaseID) = (held.accessToken, held.expiresAt, held.sessionID, held.leaseID)
            } else {
                let configuration = try context.settings.accountConfiguration()
                let held = try await context.pool.acquireLease(
                    account: configuration, options: lease.options(forceRefresh: forceRefresh))
                (token, expiresAt, sessionID, leaseID) = (held.accessToken, held.expiresAt, held.sessionID, held.id)
                await held.release()
            }
            let output: String
            if json {
                output = JSONOutput.object([
                    ("access_token", .string(token)), ("expires_at", .string(JSONOutput.timestamp(expiresAt))),
                    ("session_id", .string(sessionID)), ("lease_id", .string(leaseID)),
                ])
            } else {
                output = token
            }
            FileHandle.standardOutput.write(Data((output + "\n").utf8))
        } }
    }
}
