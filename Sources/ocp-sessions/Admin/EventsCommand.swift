import ArgumentParser
import Foundation
import OCPSessions

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the registry's event log, newest last.",
        discussion: """
            Events: login, login-failed, denied, refresh, refresh-failed, logout, lease, release,
            eviction, error, reconcile, revoke. Never a token. The log keeps 30 days (at most 20,000
            events).

            Examples:
              ocp-sessions events --since 10m
              ocp-sessions events --follow --json | jq -c 'select(.kind == "denied")'
            """
    )

    @OptionGroup var account: AccountOptions
    @Option(help: "How far back to start: 90s, 10m, 1h, 2d.")
    var since: String = "1h"
    @Flag(help: "Keep printing new events until interrupted.")
    var follow = false
    @Flag(help: "Print one JSON object per line.")
    var json = false

    func validate() throws {
        guard let parsed = DurationText(since), parsed.seconds >= 0, parsed.seconds <= 400 * 86_400 else {
            throw ValidationError("--since must be a duration such as 90s, 10m, 1h or 2d (got '\(since)')")
        }
    }

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account, existingRegistry: true) { context in
            let key = context.settings.accountKey
            let start = Date().timeIntervalSince1970 - (DurationText(since)?.seconds ?? 3600)
            var lastID: Int64?
            repeat {
                let events = try context.pool.events(since: start, account: key, afterID: lastID, limit: 1000)
                // Written at once, not through print's buffer, so `--follow | grep` sees each event.
                let lines = events.map { json ? JSONOutput.render(ListingJSON.event($0)) : Self.line($0) }
                if !lines.isEmpty { FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8)) }
                lastID = events.last?.event.id ?? lastID
                if follow { try await Task.sleep(nanoseconds: 500_000_000) }
            } while follow
        } }
    }

    static func line(_ listing: EventListing) -> String {
        let event = listing.event
        var parts = [JSONOutput.timestamp(event.at), event.kind.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)]
        if let account = listing.account { parts.append(account.description) }
        if let session = event.sessionID { parts.append("session \(session)") }
        if let lease = event.leaseID { parts.append("lease \(lease)") }
        if let pid = event.pid { parts.append("pid \(pid)") }
        if !event.detail.isEmpty { parts.append("- " + event.detail) }
        return parts.joined(separator: " ")
    }
}
