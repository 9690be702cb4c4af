import ArgumentParser
import Foundation
import OCPSessions

@main
struct OCPSessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocp-sessions",
        abstract: "Share a small, fixed number of IAM sessions among a team's scripts.",
        discussion: """
            Exit codes: 0 ok; 1 revoke or prune incomplete; 64 usage; 65 malformed IAM data or damaged/newer registry;
            66 no registry at the path (list, leases, status, events, prune, revoke create none); 69 IAM unavailable; 75 timed out waiting (or registry locked); 77 credentials rejected or account locked;
            78 configuration error.
            """,
        subcommands: [
            TokenCommand.self, ExecCommand.self, ListCommand.self, LeasesCommand.self, RevokeCommand.self,
            PruneCommand.self, StatusCommand.self, EventsCommand.self, RekeyCommand.self, MigrateRegistryCommand.self,
            SimulateCommand.self, SimulatorCommand.self,
            WorkerCommand.self,
        ]
    )

    /// Parses and runs the command, turning a usage error (unknown flag, bad value, a failed
    /// `validate()`) into one line on stderr and exit 64 instead of ArgumentParser's error-plus-usage
    /// block. Help, version and every other exit behave as ArgumentParser's own `main`.
    static func main() async {
        do {
            // `token [flags]` in the forms scripts use skips ArgumentParser (see TokenArguments).
            if let token = TokenArguments.parse(Array(CommandLine.arguments.dropFirst())) {
                if try TokenCommand.handOutCachedToken(token) { return }
                try await TokenCommand.execute(token)
                return
            }
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            guard !(error is ExitCode), exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            CommandRunner.fail("\(message); see --help", code: ExitCode.validationFailure.rawValue)
        }
    }
}

/// Runs a command body, turning every failure into one line on stderr and a documented exit code.
enum CommandRunner {
    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            try report(error)
        }
    }

    /// `run` for a body that needs no `await` (the cached `token`, on the main thread).
    static func runNow<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            try report(error)
        }
    }

    /// One line on stderr and the documented exit code; `ExitCode` passes through.
    private static func report(_ error: Error) throws -> Never {
        switch error {
        case let error as ExitCode:
            throw error
        case let error as CLIError:
            fail(error.description, code: error.exitCode)
        case let error as ValidationError:
            fail(error.message, code: 64)
        default:
            let wrapped = OCPSessionsError.wrap(error)
            fail(wrapped.message, code: wrapped.exitCode)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("ocp-sessions: \(message)\n".utf8))
        exit(code)
    }
}

/// The registry and the pool for one command.
struct CommandContext {
    let settings: ResolvedSettings
    /// The registry on either backend, with its holder liveness and name (`status`).
    let opened: OpenedRegistry
    var registry: any RegistryStore { opened.store }
    let pool: SessionPool

    /// `existingRegistry`: refuse (exit 66) instead of creating a registry that is not there yet.
    /// `environment` is read once: building `ProcessInfo.processInfo.environment` is not free,
    /// and a cached `token` pays for every copy.
    init(
        _ options: some AccountSelection, existingRegistry: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        settings = try ResolvedSettings(options, environment: environment)
        let busyTimeout = try BusyTimeoutSetting.resolve(environment)
        opened = try RegistryOpener.open(
            settings, existingRegistry: existingRegistry, busyTimeout: busyTimeout, environment: environment)
        pool = SessionPool(
            registry: opened.store, connector: KeycloakConnector(environment: environment), liveness: opened.liveness)
    }

    /// Runs `body` with a context and shuts its HTTP clients down on every path (an HTTP client
    /// released without shutdown traps).
    static func with<T>(
        _ options: some AccountSelection, existingRegistry: Bool = false, _ body: (CommandContext) async throws -> T
    ) async throws -> T {
        let context = try CommandContext(options, existingRegistry: existingRegistry)
        do {
            let value = try await body(context)
            await context.pool.shutdown()
            return value
        } catch {
            await context.pool.shutdown()
            throw error
        }
    }
}
