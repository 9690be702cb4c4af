import ArgumentParser
import Foundation
import KeycloakSimulator

/// Runs the Keycloak simulator alone in the foreground, so scripts can be rehearsed against it.
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator",
        abstract: "Run the embedded Keycloak simulator on 127.0.0.1 in the foreground.",
        discussion: """
            Example:
              ocp-sessions simulator --port 8080 --limit 5 --user alice:alice-pass &
              OCP_HOST=http://127.0.0.1:8080 OCP_USERNAME=alice OCP_PASSWORD=alice-pass ocp-sessions token
            The --user passwords are test credentials: the one place a password may appear in arguments.
            """
    )

    @Option(help: "Port on 127.0.0.1 (0: any free port).")
    var port: Int = 0
    @Option(help: "Sessions per user before the limiter acts (0: no limiter).")
    var limit: Int = 5
    @Option(help: "deny or terminate-oldest.")
    var behavior: String = "deny"
    @Flag(help: "Revoke refresh tokens on use (rotation, max reuse 0).")
    var rotation = false
    @Option(name: .customLong("base-path"), help: "/auth (default, as our IAM's docs show) or /.")
    var basePath: String = "/auth"
    @Option(name: .customLong("user"), help: "NAME:PASSWORD of a test user (repeatable; default alice:alice-pass).")
    var users: [String] = []
    @Option(name: .customLong("access-lifetime"), help: "Access token lifetime in seconds.")
    var accessLifetime: Double = 300

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (0...10_000).contains(limit) else { throw ValidationError("--limit must be between 0 and 10000") }
        guard ["deny", "terminate-oldest"].contains(behavior) else {
            throw ValidationError("--behavior must be deny or terminate-oldest")
        }
        guard basePath == "/auth" || basePath == "/" || basePath.isEmpty else {
            throw ValidationError("--base-path must be /auth or /")
        }
        for user in users where !user.contains(":") || user.hasPrefix(":") { throw ValidationError("--user takes NAME:PASSWORD") }
        // The simulator refuses more than ten years (a unit mistake); say so as a usage error.
        guard accessLifetime.isFinite, accessLifetime > 0, accessLifetime <= 315_360_000 else {
            throw ValidationError("--access-lifetime must be more than 0 and at most 315360000 seconds (ten years)")
        }
    }

    func run() async throws {
        try await CommandRunner.run {
            var configuration = SimulatorConfiguration()
            configuration.sessionLimit = limit > 0 ? limit : nil
            configuration.limiterBehavior = behavior == "deny" ? .deny : .terminateOldest
            configuration.revokeRefreshToken = rotation
            configuration.basePath = basePath == "/auth" ? "/auth" : ""
            configuration.accessTokenLifespan = accessLifetime
            configuration.maximumLifetime = .infinity
            if !users.isEmpty {
                configuration.users = Dictionary(users.map { user in
                    let parts = user.split(separator: ":", maxSplits: 1)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                }, uniquingKeysWith: { _, last in last })
            }
            let simulator: KeycloakSimulator
            do {
                simulator = try await KeycloakSimulator.start(configuration, port: port)
            } catch {
                throw CLIError.configuration("cannot start the simulator: \(error)")
            }
            FileHandle.standardOutput.write(Data(
                "simulator listening on \(simulator.baseURL)\(configuration.basePath)/realms/\(configuration.realm)\n".utf8))
            while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
        }
    }
}
