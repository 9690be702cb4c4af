import ArgumentParser
import Foundation
import OCPSessions

struct LeasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leases",
        abstract: "Show the leases held now and the callers waiting for a session.",
        discussion: """
            Example:
              ocp-sessions leases --json | jq '.waiting | length'
            """
    )

    @OptionGroup var account: AccountOptions
    @Flag(help: "Print {\"leases\": [...], \"waiting\": [...]}.")
    var json = false

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account, existingRegistry: true) { context in
            let (leases, waiting) = try context.pool.listLeases(account: context.settings.accountKey)
            if json {
                print(JSONOutput.object([
                    ("leases", .array(leases.map { lease in
                        guard case .object(let fields) = ListingJSON.lease(lease) else { return .null }
                        return .object(fields + [
                            ("session_id", .string(lease.sessionID)), ("account", .object(ListingJSON.account(lease.account))),
                        ])
                    })),
                    ("waiting", .array(waiting.map(ListingJSON.waiter))),
                ]))
                return
            }
            let now = Date().timeIntervalSince1970
            if leases.isEmpty {
                print("no leases held")
            } else {
                var table = TextTable("LEASE", "SESSION", "ACCOUNT", "MODE", "HOLDER", "ACQUIRED", "EXPIRES")
                for lease in leases {
                    let alive = lease.holderAlive ? "" : " (gone)"
                    table.add(
                        lease.id, lease.sessionID, lease.account.description, lease.shared ? "shared" : "exclusive",
                        "'\(lease.holder.label)' pid \(lease.holder.pid)@\(lease.holder.host)\(alive)",
                        RelativeTime.describe(lease.acquiredAt, now: now), RelativeTime.describe(lease.expiresAt, now: now))
                }
                print(table.rendered)
            }
            if !waiting.isEmpty {
                var table = TextTable("WAITING", "ACCOUNT", "CALLER", "SINCE")
                for waiter in waiting {
                    table.add("#\(waiter.ticket)", waiter.account.description,
                              "'\(waiter.holder.label)' pid \(waiter.holder.pid)@\(waiter.holder.host)\(waiter.alive ? "" : " (gone)")",
                              RelativeTime.describe(waiter.enqueuedAt, now: now))
                }
                print("\n" + table.rendered)
            }
        } }
    }
}
