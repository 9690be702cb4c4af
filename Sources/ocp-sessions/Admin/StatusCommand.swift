import ArgumentParser
import Foundation
import OCPSessions

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each account's limits, sessions by state, waiting callers and recent activity.",
        discussion: """
            Also shows the registry's path, schema version and where the sealing key comes from.

            Example:
              ocp-sessions status --json | jq '.accounts[] | {username, idle: .sessions.idle}'
            """
    )

    @OptionGroup var account: AccountOptions
    @Flag(help: "Print the status as one JSON object.")
    var json = false

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account, existingRegistry: true) { context in
            let status = try context.pool.status(account: context.settings.accountKey)
            print(json ? Self.json(status) : Self.text(status, now: Date().timeIntervalSince1970))
        } }
    }

    static func json(_ status: RegistryStatus) -> String {
        JSONOutput.object([
            ("registry", .string(status.location)), ("schema_version", .integer(status.schemaVersion)),
            ("key_source", .string(status.keySource.description)),
            ("accounts", .array(status.accounts.map { account in
                .object(ListingJSON.account(account.account) + [
                    ("limit", .integer(account.limit)), ("reserve", .integer(account.reserve)),
                    ("sessions", .object(SessionListing.State.allCases.map { ($0.rawValue, .integer(account.sessions[$0] ?? 0)) })),
                    ("waiting", .integer(account.waiting)),
                    ("logins_last_hour", .integer(account.loginsLastHour)),
                    ("refreshes_last_hour", .integer(account.refreshesLastHour)),
                    ("logouts_last_hour", .integer(account.logoutsLastHour)),
                    ("last_error", account.lastError.map { .object([("message", .string($0.message)), ("at", ListingJSON.time($0.at))]) } ?? .null),
                    ("effective_capacity", account.effectiveCapacity.map { .integer($0) } ?? .null),
                    ("login_blocked_until", ListingJSON.time(account.loginBlockedUntil)),
                    ("access_lifetime", account.accessLifetime.map { .number($0) } ?? .null),
                ])
            })),
        ])
    }

    static func text(_ status: RegistryStatus, now: Double) -> String {
        var lines = [
            "registry: \(status.location) (schema \(status.schemaVersion)); sealing key from \(status.keySource)",
        ]
        if status.accounts.isEmpty { lines.append("no accounts yet") }
        for account in status.accounts {
            let states = SessionListing.State.allCases.compactMap { state -> String? in
                let count = account.sessions[state] ?? 0
                return count > 0 ? "\(count) \(state.rawValue)" : nil
            }
            lines.append("")
            lines.append("\(account.account): limit \(account.limit), reserve \(account.reserve)")
            lines.append("  sessions: \(states.isEmpty ? "none" : states.joined(separator: ", ")); waiting: \(account.waiting)")
            lines.append("  last hour: " + [
                Self.count(account.loginsLastHour, "login", "logins"), Self.count(account.refreshesLastHour, "refresh", "refreshes"),
                Self.count(account.logoutsLastHour, "logout", "logouts"),
            ].joined(separator: ", "))
            if let capacity = account.effectiveCapacity {
                lines.append("  the IAM refused logins at \(capacity) of our sessions: sessions unknown to this registry hold the rest")
            }
            if let until = account.loginBlockedUntil {
                lines.append("  no new login \(RelativeTime.describe(until, now: now).replacingOccurrences(of: "in ", with: "for ")) (after a refused login)")
            }
            if let lifetime = account.accessLifetime { lines.append("  access tokens live \(RelativeTime.amount(lifetime))") }
            if let error = account.lastError {
                lines.append("  last error \(RelativeTime.describe(error.at, now: now)): \(error.message)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `1 login`, `2 logins`.
    static func count(_ value: Int, _ one: String, _ many: String) -> String {
        "\(value) \(value == 1 ? one : many)"
    }
}
