import Foundation
import KeycloakSimulator
import Testing
@testable import OCPSessions

/// Searches bytes for secrets in every form they could take there: whole, as hex, as base64
/// (standard and url-safe), and a JWT's signature part alone.
struct LeakScanner {
    struct Needle {
        var label: String
        var bytes: [UInt8]
    }

    var needles: [Needle] = []

    init(tokens: [String], passwords: [String]) {
        for (index, token) in tokens.enumerated() {
            let utf8 = Data(token.utf8)
            let base64 = utf8.base64EncodedString().trimmingCharacters(in: ["="])
            let forms: [(String, String)] = [
                ("whole", token),
                ("hex", utf8.map { String(format: "%02x", $0) }.joined()),
                ("HEX", utf8.map { String(format: "%02X", $0) }.joined()),
                ("base64", base64),
                ("base64url", base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")),
            ]
            for (form, text) in forms { needles.append(Needle(label: "token \(index) \(form)", bytes: Array(text.utf8))) }
            let parts = token.split(separator: ".")
            if parts.count == 3, parts[2].count >= 16 {
                needles.append(Needle(label: "token \(index) JWT signature", bytes: Array(parts[2].utf8)))
            }
        }
        for password in passwords { needles.append(Needle(label: "password", bytes: Array(password.utf8))) }
    }

    /// Labels of the needles found in `data`.
    func find(in data: [UInt8]) -> [String] {
        data.withUnsafeBytes { haystack in
            needles.compactMap { needle in
                needle.bytes.withUnsafeBytes { bytes in
                    Self.contains(haystack, bytes) ? needle.label : nil
                }
            }
        }
    }

    /// memchr for the first byte, memcmp for the rest (glibc's memmem is not visible to Swift).
    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        guard let base = haystack.baseAddress, let first = needle.first, needle.count <= haystack.count else { return false }
        var offset = 0
        let last = haystack.count - needle.count
        while offset <= last {
            guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return false }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + at, needle.baseAddress!, needle.count) == 0 { return true }
            offset = at + 1
        }
        return false
    }

    func find(inFile path: String) -> [String] {
        find(in: Array((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()))
    }
}

@Suite("No token or password at rest or in output")
struct TokenLeakTests {
    @Test("registry, WAL and shm (before and after a checkpoint) and every listing hold no issued token or password")
    func noTokenAtRestOrInOutput() async throws {
        try await withCLI("token-leak", { config in
            config.recordIssuedTokens = true
            config.accessTokenLifespan = 2
            config.revokeRefreshToken = true
            config.sessionLimit = 5
        }) { simulator, cli in
            var cli = cli
            cli.environment["OCP_SCOPE"] = "openid"  // id tokens too
            var outputs: [(String, String)] = []
            let protected = simulator.realmURL + "/sim/protected"
            let workers = try (0..<6).map { _ in
                try cli.start(["worker", "--cycles", "0", "--duration", "6", "--protected-url", protected,
                               "--min-validity", "1", "--hold-ms", "5"])
            }
            for round in 0..<5 {
                let token = try await cli.run(["token", "--min-validity", "1"] + (round % 2 == 0 ? ["--force-refresh"] : []))
                #expect(token.status == 0, "\(token.stderr)")
                outputs.append(("token stderr", token.stderr))
                let exec = try await cli.run(["exec", "--min-validity", "1", "--token-file", cli.directory + "/tf", "--", "sh", "-c", "sleep 1.2; test -s \"$1\"", "sh", cli.directory + "/tf"])
                #expect(exec.status == 0, "\(exec.stderr)")
                outputs.append(("exec", exec.stdout + exec.stderr))
            }
            for worker in workers {
                let finished = try await worker.finish(timeout: 60)
                #expect(finished.status == 0, "\(finished.stderr)")
                outputs.append(("worker", finished.stdout + finished.stderr))
            }
            // Error output: a wrong password on a registry that must log in, a copied-row failure is
            // covered elsewhere.
            let wrong = try await cli.run(["token"], env: ["OCP_PASSWORD": "wrong-pass-4711",
                                                           "OCP_SESSIONS_REGISTRY": cli.directory + "/other.sqlite"])
            #expect(wrong.status == 77)
            outputs.append(("wrong password", wrong.stdout + wrong.stderr))
            // The failed login's event and error are recorded in that registry: no password there either.
            for json in [false, true] {
                let events = try await cli.run(["events"] + (json ? ["--json"] : []), env: ["OCP_SESSIONS_REGISTRY": cli.directory + "/other.sqlite"])
                #expect(events.stdout.contains("login-failed"), "\(events.stdout)")
                outputs.append(("events of the failed login", events.stdout + events.stderr))
            }
            for command in [["list"], ["status"], ["events"], ["leases"]] {
                for json in [false, true] {
                    let result = try await cli.run(command + (json ? ["--json"] : []))
                    #expect(result.status == 0, "\(command): \(result.stderr)")
                    outputs.append((command.joined(separator: " ") + (json ? " --json" : ""), result.stdout + result.stderr))
                }
            }

            let tokens = simulator.issuedTokens()
            let stats = simulator.statistics()
            #expect(stats.logins >= 1 && stats.refreshes >= 10, "logins \(stats.logins), refreshes \(stats.refreshes)")
            #expect(tokens.count >= 3 * (stats.logins + stats.refreshes), "access, refresh and id token per grant")
            let scanner = LeakScanner(tokens: tokens, passwords: ["alice-pass", "wrong-pass-4711"])
            for (name, text) in outputs {
                #expect(scanner.find(in: Array(text.utf8)).isEmpty, "\(name) leaks: \(scanner.find(in: Array(text.utf8)).prefix(3))")
            }

            let registry = cli.directory + "/registry.sqlite"
            let files = [registry, registry + "-wal", registry + "-shm"]
            for suffix in ["", "-wal", "-shm"] {
                let file = cli.directory + "/other.sqlite" + suffix
                #expect(scanner.find(inFile: file).isEmpty, "\(file)")
            }
            let walBefore = SecurityCheck.fileSize(registry + "-wal")
            #expect(walBefore > 0, "the WAL is kept between processes")
            for file in files { #expect(scanner.find(inFile: file).isEmpty, "\(file) before checkpoint") }
            let db = try Database(path: registry)
            try db.execute("PRAGMA wal_checkpoint(FULL)")
            for file in files { #expect(scanner.find(inFile: file).isEmpty, "\(file) after checkpoint") }
            #expect(try db.queryOne("SELECT COUNT(*) FROM sessions")?.int(0) ?? 0 >= 1)

            // Negative control: the same scan finds a token written into a scratch copy, in each form.
            let scratch = cli.directory + "/scratch.sqlite"
            var copy = Array(try Data(contentsOf: URL(fileURLWithPath: registry)))
            #expect(scanner.find(in: copy).isEmpty)
            let planted = LeakScanner(tokens: [tokens[tokens.count / 2]], passwords: [])
            for needle in planted.needles {
                var withNeedle = copy
                withNeedle.replaceSubrange(1000..<(1000 + needle.bytes.count), with: needle.bytes)
                try Data(withNeedle).write(to: URL(fileURLWithPath: scratch))
                #expect(scanner.find(inFile: scratch).contains { $0.hasSuffix(needle.label.split(separator: " ", maxSplits: 2).last.map(String.init) ?? "") },
                        "the scan misses a planted \(needle.label)")
            }
            copy.append(contentsOf: Array("alice-pass".utf8))
            #expect(scanner.find(in: copy) == ["password"])
            print("token leak scan: \(tokens.count) tokens (\(stats.logins) logins, \(stats.refreshes) refreshes), \(scanner.needles.count) needles, WAL \(walBefore) bytes, \(outputs.count) outputs: none found")
        }
    }

    @Test("the password is in no argv and no environment of exec, its command or the password command, and never echoed from a flag")
    func passwordNotInArgvOrEnvironment() async throws {
        try await withCLI("password-audit") { _, cli in
            let file = cli.directory + "/password"
            _ = FileManager.default.createFile(atPath: file, contents: Data("alice-pass\n".utf8), attributes: [.posixPermissions: 0o600])
            // exec's own argv and environment (its parent's pid, seen from the command) and the command's.
            let dump = "tr '\\0' '\\n' </proc/$PPID/cmdline; tr '\\0' '\\n' </proc/$PPID/environ; tr '\\0' '\\n' </proc/$$/cmdline; env"
            for source in [["--password-file", file], ["--password-command", "cat '\(file)'"]] {
                let exec = try await cli.run(["exec"] + source + ["--", "sh", "-c", dump], env: ["OCP_PASSWORD": nil])
                #expect(exec.status == 0, "\(exec.stderr)")
                #expect(exec.stdout.contains("OCP_LEASE_ID="), "the dump ran")
                #expect(!exec.stdout.contains("alice-pass") && !exec.stderr.contains("alice-pass"), "\(source[0])")
                _ = try await cli.run(["revoke", "--all", "--force"])
            }
            // While the password command runs, neither it nor ocp-sessions carries the password in argv.
            let spy = cli.directory + "/spy.sh"
            _ = FileManager.default.createFile(atPath: spy, contents: Data("""
                #!/bin/sh
                parent=$(awk '{print $4}' /proc/$PPID/stat)
                tr '\\0' ' ' </proc/$parent/cmdline >"\(cli.directory)/spy.out"; echo >>"\(cli.directory)/spy.out"
                tr '\\0' ' ' </proc/$PPID/cmdline >>"\(cli.directory)/spy.out"; echo >>"\(cli.directory)/spy.out"
                tr '\\0' ' ' </proc/$$/cmdline >>"\(cli.directory)/spy.out"
                cat '\(file)'

                """.utf8), attributes: [.posixPermissions: 0o700])
            let spied = try await cli.run(["token", "--password-command", spy], env: ["OCP_PASSWORD": nil])
            #expect(spied.status == 0, "\(spied.stderr)")
            let seen = (try? String(contentsOfFile: cli.directory + "/spy.out", encoding: .utf8)) ?? ""
            #expect(seen.contains("ocp-sessions token --password-command"), "\(seen)")
            #expect(!seen.contains("alice-pass"))
            // No flag takes a password: one usage line that does not repeat the value.
            let flag = try await cli.run(["token", "--password", "alice-pass"])
            SecurityCheck.expectOneLineFailure(flag, 64, "password")
            #expect(!flag.stderr.contains("alice-pass"))
        }
    }
}
