import ArgumentParser
import Foundation
import OCPSessions
import Testing
@testable import ocp_sessions

/// `token`'s fast parser against ArgumentParser: the same argument sets through both, compared as
/// parsed and as resolved (flag > environment > profile > default); and whatever the fast parser
/// does not fully understand is left to ArgumentParser.
@Suite("token fast parser")
struct TokenFastParserTests {
    /// The forms scripts use: each must take the fast path.
    static let accepted: [[String]] = [
        ["token"],
        ["token", "--json"],
        ["token", "--force-refresh"],
        ["token", "--force-refresh", "--json", "--shared", "--password-stdin"],
        ["token", "--min-validity", "60", "--wait", "5", "--max-hold", "120", "--label", "nightly sync"],
        ["token", "--min-validity=0", "--wait=0", "--max-hold=1"],
        ["token", "--min-validity", "86400", "--wait", "86400", "--max-hold", "604800"],
        ["token", "--min-validity", "1.5", "--wait", "1e2"],
        ["token", "--host", "https://iam.example.com", "--realm", "r1", "--client-id", "cli", "--username", "bob"],
        ["token", "--max-sessions", "3", "--reserve", "1"],
        ["token", "--max-sessions", "1000", "--reserve", "999"],
        ["token", "--max-sessions=1", "--reserve=0"],
        ["token", "--registry", "/tmp/r.sqlite", "--profile", "team", "--ca-file", "/etc/ca.pem", "--scope", "openid email"],
        ["token", "--client-secret-file", "/run/secret", "--password-file", "/run/pw"],
        ["token", "--password-command", "pass show iam/alice"],
        ["token", "--lease", "11111111-2222-3333-4444-555555555555", "--min-validity", "10"],
        ["token", "--registry", "~/r.sqlite"],
        ["token", "--host=https://iam.example.com/a=b", "--username=carol"],
        ["token", "--max-sessions", "+5"],
    ]

    /// Left to ArgumentParser: help, completion, errors, and anything unusual.
    static let refused: [[String]] = [
        [], ["--help"], ["help", "token"], ["list"], ["--host", "x", "token"],
        ["token", "--help"], ["token", "-h"], ["token", "help"], ["token", "--version"],
        ["token", "--generate-completion-script", "bash"], ["---completion", "token"],
        ["token", "--no-such-flag"], ["token", "extra"], ["token", "--", "x"], ["token", "-json"],
        ["token", "--host"], ["token", "--host", "--json"], ["token", "--host="], ["token", "--host", ""],
        ["token", "--label", "-x"], ["token", "--json=yes"], ["token", "--json", "--json"],
        ["token", "--host", "a", "--host", "b"], ["token", "--host=a", "--host", "b"],
        ["token", "--min-validity", "-1"], ["token", "--min-validity=-1"], ["token", "--min-validity", "86401"],
        ["token", "--min-validity", "nan"], ["token", "--min-validity", "inf"], ["token", "--min-validity", "ten"],
        ["token", "--wait", "86401"], ["token", "--max-hold", "0"], ["token", "--max-hold", "604801"],
        ["token", "--max-sessions", "0"], ["token", "--max-sessions", "1001"], ["token", "--max-sessions", "2.5"],
        ["token", "--reserve", "1000"], ["token", "--reserve", "-1"], ["token", "--reserve", "x"],
    ]

    /// ArgumentParser's result, or nil when it refuses the arguments.
    static func slow(_ arguments: [String]) -> TokenCommand? {
        guard arguments.first == "token" else { return nil }
        return try? TokenCommand.parse(Array(arguments.dropFirst()))
    }

    static func plain(_ options: AccountOptions) -> AccountArguments {
        AccountArguments(
            host: options.host, realm: options.realm, clientID: options.clientID, username: options.username,
            maxSessions: options.maxSessions, reserve: options.reserve, registry: options.registry,
            profile: options.profile, caFile: options.caFile, scope: options.scope,
            clientSecretFile: options.clientSecretFile, passwordFile: options.passwordFile,
            passwordCommand: options.passwordCommand, passwordStdin: options.passwordStdin)
    }

    static func plain(_ flags: LeaseFlags) -> LeaseArguments {
        LeaseArguments(minValidity: flags.minValidity, wait: flags.wait, label: flags.label, shared: flags.shared,
                       maxHold: flags.maxHold)
    }

    @Test("the forms scripts use take the fast path and parse as ArgumentParser parses them", arguments: accepted)
    func sameParse(arguments: [String]) throws {
        let fast = try #require(TokenArguments.parse(arguments))
        let slow = try #require(Self.slow(arguments))
        #expect(fast.account == Self.plain(slow.account))
        #expect(fast.lease == Self.plain(slow.lease))
        #expect(fast.forceRefresh == slow.forceRefresh)
        #expect(fast.json == slow.json)
        #expect(fast.heldLease == slow.heldLease)
    }

    @Test("help, completion, errors and unusual forms are left to ArgumentParser", arguments: refused)
    func fallsThrough(arguments: [String]) {
        #expect(TokenArguments.parse(arguments) == nil)
    }

    @Test("whatever ArgumentParser refuses, the fast parser refuses too")
    func neverAcceptsWhatArgumentParserRefuses() {
        for arguments in Self.accepted + Self.refused where Self.slow(arguments) == nil {
            #expect(TokenArguments.parse(arguments) == nil, "\(arguments)")
        }
    }

    /// Every setting `ResolvedSettings` produces, the password source included (read).
    struct Resolved: Equatable {
        var host, username, caFile, scope, clientSecretFile: String?
        var realm, clientID, registry: String
        var maxSessions, reserve: Int
        var password: String?
        var passwordError: String?
    }

    static func resolve(_ account: some AccountSelection, _ environment: [String: String]) -> Result<Resolved, CLIErrorText> {
        do {
            let settings = try ResolvedSettings(account, environment: environment)
            var resolved = Resolved(
                host: settings.host, username: settings.username, caFile: settings.caFile, scope: settings.scope,
                clientSecretFile: settings.clientSecretFile, realm: settings.realm, clientID: settings.clientID,
                registry: settings.registry, maxSessions: settings.maxSessions, reserve: settings.reserve)
            // Standard input is the test runner's: not read, the flag is compared as parsed.
            if !account.passwordStdin || account.passwordFile != nil || account.passwordCommand != nil {
                do { resolved.password = try settings.password.password().value } catch { resolved.passwordError = "\(error)" }
            }
            return .success(resolved)
        } catch {
            return .failure(CLIErrorText(text: "\(error)"))
        }
    }

    struct CLIErrorText: Error, Equatable { var text: String }

    @Test("flag > environment > profile > default resolves the same from both parsers")
    func samePrecedence() throws {
        let dir = TestPaths.temporaryDirectory("ocp-fastparse")
        defer { TestPaths.remove(dir) }
        for (name, text) in [("pw-flag", "from-flag-file"), ("pw-env", "from-env-file"), ("pw-profile", "from-profile-file")] {
            try "\(text)\n".write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
            chmod("\(dir)/\(name)", 0o600)
        }
        try """
            default_profile = "team"

            [profiles.team]
            host = "https://profile.example.com"
            username = "carol"
            realm = "profile-realm"
            client-id = "profile-client"
            max-sessions = 3
            reserve = 1
            registry = "\(dir)/profile.sqlite"
            scope = "profile-scope"
            ca-file = "/profile/ca.pem"
            password-file = "\(dir)/pw-profile"

            [profiles.other]
            host = "https://other.example.com"
            username = "dave"
            max-sessions = 2
            password-command = "echo from-profile-command"
            """.write(toFile: "\(dir)/config.toml", atomically: true, encoding: .utf8)
        let base = ["HOME": dir, "XDG_STATE_HOME": "\(dir)/state", "OCP_SESSIONS_CONFIG": "\(dir)/config.toml"]
        let environments: [[String: String]] = [
            base,
            base.merging(["OCP_SESSIONS_CONFIG": "\(dir)/missing.toml"]) { $1 },
            base.merging(["OCP_SESSIONS_CONFIG": "\(dir)/missing.toml", "OCP_HOST": "https://env.example.com",
                          "OCP_USERNAME": "erin", "OCP_PASSWORD": "from-env"]) { $1 },
            base.merging([
                "OCP_HOST": "https://env.example.com", "OCP_REALM": "env-realm", "OCP_CLIENT_ID": "env-client",
                "OCP_USERNAME": "erin", "OCP_MAX_SESSIONS": "4", "OCP_RESERVE": "2", "OCP_SESSIONS_REGISTRY": "\(dir)/env.sqlite",
                "OCP_CA_FILE": "/env/ca.pem", "OCP_SCOPE": "env-scope", "OCP_PASSWORD_FILE": "\(dir)/pw-env",
            ]) { $1 },
            base.merging(["OCP_PROFILE": "other", "OCP_REALM": "", "OCP_PASSWORD_COMMAND": "echo from-env-command"]) { $1 },
            base.merging(["OCP_PROFILE": "absent"]) { $1 },
            base.merging(["OCP_MAX_SESSIONS": "many"]) { $1 },
        ]
        let argumentSets: [[String]] = Self.accepted + [
            ["token", "--profile", "other"],
            ["token", "--profile", "absent"],
            ["token", "--host", "https://flag.example.com", "--realm", "flag-realm", "--username", "frank",
             "--max-sessions", "2", "--registry", "\(dir)/flag.sqlite", "--password-file", "\(dir)/pw-flag"],
            ["token", "--password-command", "echo from-flag-command", "--reserve", "0"],
            ["token", "--max-sessions", "1"],
            ["token", "--registry", "~/flag.sqlite"],
        ]
        var compared = 0
        for arguments in argumentSets {
            let fast = try #require(TokenArguments.parse(arguments), "\(arguments)")
            let slow = try #require(Self.slow(arguments), "\(arguments)")
            for environment in environments {
                let fromFast = Self.resolve(fast.account, environment)
                #expect(fromFast == Self.resolve(slow.account, environment), "\(arguments) with \(environment)")
                compared += 1
            }
            let (fastOptions, slowOptions) = (fast.lease.options(forceRefresh: fast.forceRefresh),
                                              slow.lease.options(forceRefresh: slow.forceRefresh))
            #expect(fastOptions.minValidity == slowOptions.minValidity && fastOptions.waitTimeout == slowOptions.waitTimeout
                    && fastOptions.label == slowOptions.label && fastOptions.maxHold == slowOptions.maxHold
                    && fastOptions.shared == slowOptions.shared && fastOptions.forceRefresh == slowOptions.forceRefresh)
        }
        #expect(compared == argumentSets.count * environments.count)
    }
}
