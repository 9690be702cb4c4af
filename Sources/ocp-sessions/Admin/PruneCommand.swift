import ArgumentParser
import Foundation
import OCPSessions

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Housekeeping: reclaim dead leases, log out expired and long-idle sessions.",
        discussion: """
            Reclaims leases whose holder died or whose hold time passed, retries unconfirmed logouts,
            logs out sessions whose refresh token expired, and sessions unused for longer than
            --idle-timeout whose handed-out tokens have expired. Never touches a leased session or one
            whose handed-out token is still valid. Covers every account unless one is selected. Safe to
            run from cron every minute:

              * * * * * ocp-sessions prune >/dev/null

            Exit codes: 0 done; 1 some logouts were not confirmed (they are retried later).
            """
    )

    @OptionGroup var account: AccountOptions
    @Option(name: .customLong("idle-timeout"), help: "Seconds a session may stay unused before it is logged out.")
    var idleTimeout: Double = 600
    @Flag(help: "Print what was done as one JSON object.")
    var json = false

    func validate() throws {
        guard idleTimeout.isFinite, (0...31_536_000).contains(idleTimeout) else {
            throw ValidationError("--idle-timeout must be between 0 and 31536000 seconds")
        }
    }

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account, existingRegistry: true) { context in
            let report = try await context.pool.prune(
                idleTimeout: idleTimeout, account: context.settings.accountKey, resolve: try context.settings.resolver())
            if json {
                print(JSONOutput.object([
                    ("reclaimed_leases", .array(report.reclaimedLeases.map { lease in
                        .object([("id", .string(lease.leaseID)), ("session_id", .string(lease.sessionID)),
                                 ("reason", .string(lease.reason.rawValue))])
                    })),
                    ("other_housekeeping", .integer(report.otherHousekeeping)),
                    ("sessions", .array(report.sessions.map(ListingJSON.outcome))),
                    ("kept_for_handed_out_tokens", .integer(report.protectedByHandedOutToken)),
                ]))
            } else {
                for lease in report.reclaimedLeases {
                    print("reclaimed lease \(lease.leaseID) on session \(lease.sessionID) (\(lease.reason.rawValue))")
                }
                for outcome in report.sessions {
                    let why = outcome.reason.map { " [\($0.rawValue)]" } ?? ""
                    print("\(outcome.result.rawValue): \(outcome.sessionID)\(why): \(outcome.message)")
                }
                if report.protectedByHandedOutToken > 0 {
                    print("kept \(report.protectedByHandedOutToken) session(s) whose handed-out token is still valid")
                }
            }
            let failed = report.sessions.filter { $0.result != .revoked }.count
            if failed > 0 { throw CLIError.failure("\(failed) logout(s) not confirmed; they are retried later", 1) }
        } }
    }
}
