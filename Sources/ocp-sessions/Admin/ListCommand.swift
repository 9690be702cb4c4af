import ArgumentParser
import Foundation
import OCPSessions

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the sessions in the registry (never a token).",
        discussion: """
            Without --host and --username (or their environment variables or profile), lists every
            account's sessions. States: idle, leased, refreshing, logging-in, logging-out.

            Examples:
              ocp-sessions list
              ocp-sessions list --json | jq -r '.[] | select(.state == "idle") | .id'
            """
    )

    @OptionGroup var account: AccountOptions
    @Flag(help: "Print a JSON array of sessions.")
    var json = false

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account, existingRegistry: true) { context in
            let rows = try context.pool.listSessions(account: context.settings.accountKey)
            if json {
                print(JSONOutput.render(.array(rows.map(ListingJSON.session))))
                return
            }
            guard !rows.isEmpty else {
                print("no sessions in \(context.settings.registry)")
                return
            }
            let now = Date().timeIntervalSince1970
            var table = TextTable("SESSION", "ACCOUNT", "CLIENT", "STATE", "HOLDER", "CREATED", "LAST USED", "ACCESS EXPIRES", "REFRESH EXPIRES")
            for row in rows {
                let holder = row.leases.map { "'\($0.holder.label)' pid \($0.holder.pid)@\($0.holder.host)" }.joined(separator: ", ")
                table.add(
                    row.id, row.account.description, row.clientID ?? "-", row.state.rawValue, holder.isEmpty ? "-" : holder,
                    RelativeTime.describe(row.createdAt, now: now), RelativeTime.describe(row.lastUsedAt, now: now),
                    RelativeTime.describe(row.accessExpiresAt, now: now), RelativeTime.describe(row.refreshExpiresAt, now: now))
            }
            print(table.rendered)
        } }
    }
}
