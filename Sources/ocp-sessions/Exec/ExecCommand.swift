import ArgumentParser
import Foundation
import OCPSessions

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command while holding a lease, with a token that stays valid for its whole run.",
        discussion: """
            The command gets OCP_ACCESS_TOKEN, OCP_SESSION_ID, OCP_LEASE_ID and OCP_SESSIONS_REGISTRY in
            its environment (and none of the OCP_PASSWORD* variables). While it runs, the lease and its
            session are kept alive: `ocp-sessions token --lease "$OCP_LEASE_ID"` inside it always gets
            a valid token without a password, and --token-file always holds one. SIGINT, SIGTERM and
            SIGHUP are passed on to the command. When it ends the lease is released (--logout logs the
            session out instead) and the token file removed.

            Exit status: the command's own; 127 if it cannot be found, 126 if it cannot be run,
            128+N if signal N killed it; ocp-sessions' codes (75, 77, 78, ...) if no lease was had.

            Examples:
              ocp-sessions exec -- ./nightly-sync.sh
              ocp-sessions exec --token-file /run/user/1000/ocp-token -- python3 long_job.py
              ocp-sessions exec -- sh -c 'curl -H "Authorization: Bearer $(ocp-sessions token --lease "$OCP_LEASE_ID")" "$URL"'
            """
    )

    @OptionGroup var account: AccountOptions
    @OptionGroup var lease: LeaseFlags
    @Flag(help: "Log the session out when the command ends instead of returning it to the pool.")
    var logout = false
    @Option(name: .customLong("token-file"), help: "Keep the current access token in this file (mode 0600).")
    var tokenFile: String?
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.")
    var command: [String] = []

    var commandLine: [String] { command.first == "--" ? Array(command.dropFirst()) : command }

    func validate() throws {
        // The command is captured as given, so `exec --help` asks for help rather than a command
        // named --help (which `exec -- --help` still runs).
        if command.first == "--help" || command.first == "-h" { throw CleanExit.helpRequest(self) }
        guard !commandLine.isEmpty else { throw ValidationError("no command to run: ocp-sessions exec [options] -- CMD ARGS...") }
    }

    func run() async throws {
        var status: Int32 = 0
        try await CommandRunner.run { try await CommandContext.with(account) { context in
            let configuration = try context.settings.accountConfiguration()
            let lease = try await context.pool.acquireLease(account: configuration, options: self.lease.options())
            let file = tokenFile.map(TokenFile.init)
            do {
                try file?.write(lease.accessToken)
                status = try await runCommand(lease: lease, settings: context.settings, tokenFile: file)
            } catch {
                file?.remove()
                await lease.release()
                throw error
            }
            file?.remove()
            if logout { await lease.releaseAndLogout() } else { await lease.release() }
        } }
        throw ExitCode(status)
    }

    /// Starts the command, keeps the lease while it runs, and returns its exit status.
    private func runCommand(lease: Lease, settings: ResolvedSettings, tokenFile: TokenFile?) async throws -> Int32 {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OCP_PASSWORD") }
        environment["OCP_ACCESS_TOKEN"] = lease.accessToken
        environment["OCP_SESSION_ID"] = lease.sessionID
        environment["OCP_LEASE_ID"] = lease.id
        // A URL as it is; a path made absolute. The key file too, so `token --lease` finds the key.
        environment["OCP_SESSIONS_REGISTRY"] = RegistryBackends.isPostgresURL(settings.registry)
            ? settings.registry : URL(fileURLWithPath: settings.registry).standardizedFileURL.path
        if let keyFile = settings.keyFile {
            environment["OCP_SESSIONS_KEY_FILE"] = URL(fileURLWithPath: keyFile).standardizedFileURL.path
            if settings.keyFileFromFlag { environment["OCP_SESSIONS_KEY"] = nil }
        }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(commandLine, environment: environment)
        } catch {
            FileHandle.standardError.write(Data("ocp-sessions: \(error.message)\n".utf8))
            return error.exitCode
        }
        let signals = ExecSignals(forwardingTo: child)
        let keeper = Task { await LeaseKeeper(lease: lease, minValidity: self.lease.minValidity, tokenFile: tokenFile).run() }
        let status = await child.waitForExit()
        keeper.cancel()
        _ = await keeper.value
        signals.stop()
        return status
    }
}
