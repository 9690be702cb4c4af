import ArgumentParser
import Foundation
import OCPSessions

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each account's limits, sessions by state, waiting callers and recent activity.",
        discussion: """
            Also shows the backend (sqlite or postgresql) and the registry's path or URL (never a
            password), its schema version and where the sealing key comes from, and
            the sessions of each account at the IAM that this registry does not know (a browser,
            another tool): they count toward the IAM's limit too. Those are listed through the
            account API with the access token of a session the registry holds (no login, no
            password); --offline skips that request.

            Example:
              ocp-sessions status --json | jq '.accounts[] | {username, idle: .sessions.idle}'
            """
    )

    @OptionGroup var account: AccountOptions
    @Flag(help: "Print the status as one JSON object.")
    var json = false
    @Flag(help: "Do not ask the IAM for the sessions this registry does not know.")
    var offline = false

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account, existingRegistry: true) { context in
            var status = try context.pool.status(account: context.settings.accountKey)
            var foreign: [AccountKey: ForeignSessionListing] = [:]
            if !offline {
                let resolve = try context.settings.resolver()
                for account in status.accounts {
                    foreign[account.account] = await context.pool.foreignSessions(account: account.account, resolve: resolve)
                }
                // The count just taken updates the capacity the IAM leaves us.
                status = try context.pool.status(account: context.settings.accountKey)
            }
            let now = Date().timeIntervalSince1970
            let backend = context.opened.backend
            print(json ? Self.json(status, backend: backend, foreign: foreign)
                       : Self.text(status, backend: backend, foreign: foreign, now: now))
        } }
    }

    static func json(_ status: RegistryStatus, backend: String, foreign: [AccountKey: ForeignSessionListing] = [:]) -> String {
        JSONOutput.object([
            ("backend", .string(backend)),
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
                    ("foreign_sessions", foreign[account.account].map(ListingJSON.foreign) ?? .null),
                ])
            })),
        ])
    }

    static func text(
        _ status: RegistryStatus, backend: String, foreign: [AccountKey: ForeignSessionListing] = [:], now: Double
    ) -> String {
        var lines = [
            "backend: \(backend) (\(status.location))",
            "registry schema \(status.schemaVersion); sealing key from \(status.keySource)",
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
            if let listing = foreign[account.account] {
                lines += foreignLines(listing, now: now)
            } else if let capacity = account.effectiveCapacity {
                lines.append("  the IAM leaves us \(capacity) sessions: sessions unknown to this registry hold the rest")
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

    static func foreignLines(_ listing: ForeignSessionListing, now: Double) -> [String] {
        guard let sessions = listing.sessions else {
            return ["  sessions unknown to this registry: not known (\(listing.problem ?? "not asked"))"]
        }
        guard !sessions.isEmpty else { return ["  sessions unknown to this registry: none"] }
        var lines = ["  sessions unknown to this registry: \(sessions.count) (end them with 'ocp-sessions revoke --foreign')"]
        for session in sessions {
            let clients = session.clientIDs.isEmpty ? "no client" : session.clientIDs.joined(separator: ", ")
            lines.append("    \(session.id)  \(clients), started \(RelativeTime.describe(session.started, now: now)), last used \(RelativeTime.describe(session.lastAccess, now: now))")
        }
        return lines
    }

    /// `1 login`, `2 logins`.
    static func count(_ value: Int, _ one: String, _ many: String) -> String {
        "\(value) \(value == 1 ? one : many)"
    }
}
