import ArgumentParser
import Foundation
import OCPSessions

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Log sessions out at the IAM and remove them from the registry.",
        discussion: """
            Give session ids (see `list`), or --idle (unleased sessions) or --all (every session) of the
            selected account; --all-accounts extends --idle or --all to every account in the registry.
            A leased session, or one whose handed-out token is still valid, needs --force. A session
            the IAM already forgot counts as revoked. No password is needed.

            --foreign ends the selected account's sessions that this registry does not know (a
            browser, another tool; see `status`) through the account API. It takes a lease to ask
            with, so it may log in (and then needs the password). ocp-sessions never does this by
            itself.

            Exit codes: 0 everything chosen was revoked; 1 some could not be (see the output).

            Examples:
              ocp-sessions revoke --idle
              ocp-sessions revoke --all --all-accounts --force     # end of the day
              ocp-sessions revoke 6a1f0c2e-...
              ocp-sessions revoke --foreign                         # after checking `status`
            """
    )

    @OptionGroup var account: AccountOptions
    @Argument(help: "Session ids (session_state) to revoke.")
    var ids: [String] = []
    @Flag(help: "Revoke the idle sessions.")
    var idle = false
    @Flag(help: "Revoke every session.")
    var all = false
    @Flag(help: "End the account's sessions at the IAM that this registry does not know.")
    var foreign = false
    @Flag(name: .customLong("all-accounts"), help: "With --idle or --all: every account in the registry.")
    var allAccounts = false
    @Flag(help: "Also revoke leased sessions and sessions whose handed-out token is still valid.")
    var force = false
    @Flag(help: "Print a JSON array of outcomes.")
    var json = false
    @Option(help: "Recorded in the event log as who revoked (default: the parent process's name).")
    var label: String?

    func validate() throws {
        let modes = [!ids.isEmpty, idle, all, foreign].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give session ids, --idle, --all or --foreign (exactly one of them)") }
        if allAccounts && (!ids.isEmpty || foreign) {
            throw ValidationError("--all-accounts goes with --idle or --all, not with ids or --foreign")
        }
        if foreign && force { throw ValidationError("--force does not apply to --foreign") }
        if let bad = ids.first(where: { $0.isEmpty || $0.count > 200 || $0.contains(where: \.isWhitespace) }) {
            throw ValidationError("'\(bad.prefix(40))' is not a session id")
        }
    }

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account, existingRegistry: !foreign) { context in
            if foreign {
                let outcomes = try await context.pool.revokeForeign(
                    account: try context.settings.accountConfiguration(),
                    options: LeaseOptions(minValidity: 10, waitTimeout: 30, label: label ?? ProcessIdentity.defaultLabel))
                return try Self.finish(outcomes, json: json)
            }
            let selection: RevokeSelection = !ids.isEmpty ? .ids(ids) : (idle ? .idle : .all)
            var key: AccountKey?
            if ids.isEmpty && !allAccounts {
                guard let selected = context.settings.accountKey else {
                    throw CLIError.configuration(
                        "revoke --\(idle ? "idle" : "all") needs an account (--host and --username, or their variables) or --all-accounts")
                }
                key = selected
            }
            let outcomes = try await context.pool.revoke(
                selection, account: key, force: force, label: label ?? ProcessIdentity.defaultLabel,
                resolve: try context.settings.resolver())
            try Self.finish(outcomes, json: json)
        } }
    }

    /// Prints the outcomes; exit 1 when any was not revoked.
    static func finish(_ outcomes: [AdminOutcome], json: Bool) throws {
        print(outcomes, json: json)
        let failed = outcomes.filter { $0.result != .revoked }
        if !failed.isEmpty {
            throw CLIError.failure("\(failed.count) of \(outcomes.count) session(s) not revoked", 1)
        }
    }

    static func print(_ outcomes: [AdminOutcome], json: Bool) {
        if json {
            Swift.print(JSONOutput.render(.array(outcomes.map(ListingJSON.outcome))))
            return
        }
        if outcomes.isEmpty {
            Swift.print("nothing to revoke")
            return
        }
        for outcome in outcomes {
            let account = outcome.account.map { " (\($0))" } ?? ""
            Swift.print("\(outcome.result.rawValue): \(outcome.sessionID)\(account): \(outcome.message)")
        }
    }
}
