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
        try await Self.execute(account: account, lease: lease, forceRefresh: forceRefresh, json: json, heldLease: heldLease)
    }

    /// `token` from the fast parser, when `handOutCachedToken` had no cached token to give.
    static func execute(_ arguments: TokenArguments) async throws {
        try await execute(account: arguments.account, lease: arguments.lease, forceRefresh: arguments.forceRefresh,
                          json: arguments.json, heldLease: arguments.heldLease)
    }

    /// Prints a token from `SessionPool.cachedToken` (one write transaction, no network) and says
    /// whether there was one. Synchronous, so that `main` runs it on the main thread before any task
    /// hop starts a thread; no HTTP client is created, so the pool needs no shutdown.
    static func handOutCachedToken(_ arguments: TokenArguments) throws -> Bool {
        guard !arguments.forceRefresh, arguments.heldLease == nil else { return false }
        return try CommandRunner.runNow { try printCachedToken(arguments) }
    }

    private static func printCachedToken(_ arguments: TokenArguments) throws -> Bool {
        let context = try CommandContext(arguments.account)
        let options = arguments.lease.options(forceRefresh: false)
        guard let token = try context.pool.cachedToken(account: try context.settings.accountConfiguration(), options: options)
        else { return false }
        write(token, json: arguments.json)
        return true
    }

    /// The command's body, whichever parser read the arguments. A cached valid token takes one
    /// write transaction and no network (`SessionPool.oneShotToken`).
    static func execute(
        account: some AccountSelection, lease: some LeaseSelection, forceRefresh: Bool, json: Bool, heldLease: String?
    ) async throws {
        // A held lease lives in an existing registry: never create one for it.
        try await CommandRunner.run { try await CommandContext.with(account, existingRegistry: heldLease != nil) { context in
            if let heldLease {
                // A lease held by another process (exec): never taken over, no password needed.
                let held = try await context.pool.heldLeaseToken(
                    leaseID: heldLease, minValidity: lease.minValidity, forceRefresh: forceRefresh, waitTimeout: lease.wait,
                    resolve: try context.settings.resolver())
                write(held, json: json)
            } else {
                write(try await context.pool.oneShotToken(
                    account: try context.settings.accountConfiguration(), options: lease.options(forceRefresh: forceRefresh)),
                      json: json)
            }
        } }
    }

    /// The token alone on a line, or the documented JSON object.
    static func write(_ token: LeaseToken, json: Bool) {
        let output: String
        if json {
            output = JSONOutput.object([
                ("access_token", .string(token.accessToken)),
                ("expires_at", .string(JSONOutput.timestamp(token.expiresAt))),
                ("session_id", .string(token.sessionID)), ("lease_id", .string(token.leaseID)),
            ])
        } else {
            output = token.accessToken
        }
        FileHandle.standardOutput.write(Data((output + "\n").utf8))
    }
}
