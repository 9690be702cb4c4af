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
    @Option(name: .customLong("min-validity"), help: "Seconds the token must stay valid.")
    var minValidity: Double = 30
    @Option(help: "Seconds to wait for a session at the limit and to retry a failing IAM.")
    var wait: Double = 60
    @Flag(name: .customLong("force-refresh"), help: "Refresh even when the cached token is fresh enough.")
    var forceRefresh = false
    @Flag(help: "Print {access_token, expires_at, session_id, lease_id} as JSON.")
    var json = false
    @Option(help: "Return a fresh token for a lease already held (by exec) without taking another.")
    var lease: String?
    @Option(help: "Shown as the holder (default: the parent process's name).")
    var label: String?
    @Flag(help: "Take a shared lease (several holders per session).")
    var shared = false
    @Option(name: .customLong("max-hold"), help: "Hold time in seconds, renewed while the holder lives.")
    var maxHold: Double = 900

    func validate() throws {
        guard minValidity.isFinite, (0...86_400).contains(minValidity) else {
            throw ValidationError("--min-validity must be between 0 and 86400 seconds")
        }
        guard wait.isFinite, (0...86_400).contains(wait) else { throw ValidationError("--wait must be between 0 and 86400 seconds") }
        guard maxHold.isFinite, (1...604_800).contains(maxHold) else {
            throw ValidationError("--max-hold must be between 1 and 604800 seconds")
        }
    }

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account) { context in
            let configuration = try context.settings.accountConfiguration()
            let options = LeaseOptions(
                minValidity: minValidity, waitTimeout: wait, label: label ?? ProcessIdentity.defaultLabel,
                maxHold: maxHold, shared: shared, forceRefresh: forceRefresh)
            let token: String
            let expiresAt: Double
            let sessionID: String
            let leaseID: String
            if let lease {
                let held = try context.pool.attach(leaseID: lease, account: configuration, options: options)
                token = try await held.token(minValidity: minValidity, forceRefresh: forceRefresh)
                (expiresAt, sessionID, leaseID) = (held.expiresAt, held.sessionID, held.id)
            } else {
                let held = try await context.pool.acquireLease(account: configuration, options: options)
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
