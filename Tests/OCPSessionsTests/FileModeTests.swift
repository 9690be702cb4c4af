import Foundation
import KeycloakSimulator
import Testing

@Suite("File modes: owner-only, group modes in a team directory, others refused")
struct FileModeTests {
    /// Runs the CLI under `umask 077`, the strictest umask a member may have: group modes must come
    /// from ocp-sessions itself, not from a lenient umask.
    static func runUnderStrictUmask(_ cli: CLI, _ arguments: [String]) async throws -> CLIResult {
        var shell = cli
        shell.environment["OCP_SESSIONS_TEST_BINARY"] = TestPaths.binary
        let script = "umask 077; exec \"$OCP_SESSIONS_TEST_BINARY\" \"$@\""
        return try await ShellCLI(cli: shell).run(["/bin/sh", "-c", script, "sh"] + arguments)
    }

    static func files(_ registry: String) -> [String: Int?] {
        [registry: SecurityCheck.mode(registry), registry + "-wal": SecurityCheck.mode(registry + "-wal"),
         registry + "-shm": SecurityCheck.mode(registry + "-shm"), registry + "-gate": SecurityCheck.mode(registry + "-gate"),
         registry + ".key": SecurityCheck.mode(registry + ".key")]
    }

    @Test("in a team directory (setgid, group rwx) the registry, -wal, -shm and -gate are 0660 and the key file 0640; elsewhere 0600")
    func teamDirectoryGetsGroupModes() async throws {
        try await withCLI("file-modes") { _, cli in
            let team = cli.directory + "/team"
            #expect(mkdir(team, 0o700) == 0)
            #expect(chown(team, getuid(), getgid()) == 0)
            #expect(chmod(team, 0o2770) == 0)
            let registry = team + "/registry.sqlite"
            let token = try await Self.runUnderStrictUmask(cli, ["token", "--registry", registry])
            #expect(token.status == 0, "\(token.stderr)")
            #expect(try await Self.runUnderStrictUmask(cli, ["list", "--registry", registry]).status == 0)
            let modes = Self.files(registry)
            #expect(modes[registry] == 0o660)
            #expect(modes[registry + "-wal"] == 0o660)
            #expect(modes[registry + "-shm"] == 0o660)
            #expect(modes[registry + "-gate"] == 0o660)
            #expect(modes[registry + ".key"] == 0o640)
            // A rekey replaces the key file with the same group mode.
            #expect(try await Self.runUnderStrictUmask(cli, ["rekey", "--registry", registry]).status == 0)
            #expect(SecurityCheck.mode(registry + ".key") == 0o640)
            var info = stat()
            #expect(stat(registry + ".key", &info) == 0 && info.st_gid == getgid())

            // A plain directory keeps every file owner-only, even under a lenient umask.
            let plain = cli.directory + "/plain/registry.sqlite"
            let inPlain = try await cli.run(["token", "--registry", plain])
            #expect(inPlain.status == 0, "\(inPlain.stderr)")
            #expect(SecurityCheck.mode(cli.directory + "/plain") == 0o700)
            for (path, mode) in Self.files(plain) { #expect(mode == 0o600, "\(path)") }
        }
    }

    @Test("a registry, -wal, -shm, -gate or key file with any bit for others is refused with exit 78")
    func othersBitsRefused() async throws {
        try await withCLI("file-modes-others") { _, cli in
            let registry = cli.directory + "/registry.sqlite"
            #expect(try await cli.run(["token"]).status == 0)
            for suffix in ["", "-wal", "-shm", "-gate", ".key"] {
                for loose: mode_t in [0o604, 0o602] {
                    let path = registry + suffix
                    let before = mode_t(SecurityCheck.mode(path) ?? 0o600)
                    #expect(chmod(path, loose) == 0)
                    SecurityCheck.expectOneLineFailure(try await cli.run(["list"]), 78, "accessible to other users")
                    SecurityCheck.expectOneLineFailure(try await cli.run(["token"]), 78, "accessible to other users")
                    #expect(chmod(path, before) == 0)
                }
            }
            #expect(try await cli.run(["token"]).status == 0)
        }
    }
}

/// Runs an arbitrary program with a CLI's environment and directory, output captured like `CLI`.
struct ShellCLI {
    let cli: CLI

    func run(_ command: [String]) async throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = cli.environment
        process.currentDirectoryURL = URL(fileURLWithPath: cli.directory)
        let id = UUID().uuidString.prefix(8)
        let out = "\(cli.directory)/out-\(id)", err = "\(cli.directory)/err-\(id)"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return try await RunningCLI(process: process, stdoutPath: out, stderrPath: err).finish()
    }
}
