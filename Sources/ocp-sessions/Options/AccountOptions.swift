import ArgumentParser
import Foundation
import OCPSessions

/// Account and registry selection, shared by every command. Flags win over environment variables,
/// which win over the config file's profile, which wins over defaults.
struct AccountOptions: ParsableArguments {
    @Option(help: "IAM base URL, e.g. https://iam.example.com (env OCP_HOST).")
    var host: String?
    @Option(help: "Realm (env OCP_REALM; default master).")
    var realm: String?
    @Option(name: .customLong("client-id"), help: "Client id (env OCP_CLIENT_ID; default ocp).")
    var clientID: String?
    @Option(help: "Username (env OCP_USERNAME).")
    var username: String?
    @Option(name: .customLong("max-sessions"), help: "The IAM's session limit for the user (env OCP_MAX_SESSIONS; default 5).")
    var maxSessions: Int?
    @Option(help: "Slots left free for people and other tools (env OCP_RESERVE; default 0).")
    var reserve: Int?
    @Option(help: "Registry file, or a postgres://USER@HOST[:PORT]/DATABASE URL (env OCP_SESSIONS_REGISTRY; default $XDG_STATE_HOME/ocp-sessions/registry.sqlite).")
    var registry: String?
    @Option(name: .customLong("key-file"), help: "File holding the team's sealing key, mode 0600 (env OCP_SESSIONS_KEY_FILE; needed for a PostgreSQL registry unless OCP_SESSIONS_KEY is set).")
    var keyFile: String?
    @Option(help: "Profile in the config file (env OCP_PROFILE).")
    var profile: String?
    @Option(name: .customLong("ca-file"), help: "PEM bundle of CAs to trust (env OCP_CA_FILE).")
    var caFile: String?
    @Option(help: "Scope to request (env OCP_SCOPE; default: not sent).")
    var scope: String?
    @Option(name: .customLong("client-secret-file"), help: "File holding a confidential client's secret (env OCP_CLIENT_SECRET_FILE).")
    var clientSecretFile: String?
    @Option(name: .customLong("password-file"), help: "File holding the password, mode 0600 (env OCP_PASSWORD_FILE).")
    var passwordFile: String?
    @Option(name: .customLong("password-command"), help: "Command whose first output line is the password (env OCP_PASSWORD_COMMAND).")
    var passwordCommand: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input when a login is needed.")
    var passwordStdin = false

    func validate() throws {
        if let maxSessions, !(1...1000).contains(maxSessions) {
            throw ValidationError("--max-sessions must be between 1 and 1000")
        }
        if let reserve, !(0...999).contains(reserve) {
            throw ValidationError("--reserve must be between 0 and 999")
        }
    }
}

/// The settings after applying flag > environment > profile > default.
struct ResolvedSettings {
    var host: String?
    var realm: String
    var clientID: String
    var username: String?
    var maxSessions: Int
    var reserve: Int
    var registry: String
    /// `--key-file` or `OCP_SESSIONS_KEY_FILE` (or the profile's `key-file`); `keyFileFromFlag`:
    /// given as a flag, so it wins over `OCP_SESSIONS_KEY`.
    var keyFile: String?
    var keyFileFromFlag = false
    var caFile: String?
    var scope: String?
    var clientSecretFile: String?
    var password: PasswordSource

    /// Whether an account is selected (read-only commands then cover every account otherwise).
    var accountKey: AccountKey? {
        guard let host, let username else { return nil }
        return AccountKey(host: host, realm: realm, username: username)
    }

    init(_ options: some AccountSelection, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let configPath = env("OCP_SESSIONS_CONFIG") ?? ConfigFile.defaultPath
        let config = try ConfigFile.load(path: configPath)
        let profileName = options.profile ?? env("OCP_PROFILE") ?? config.defaultProfile
        var profile: [String: String] = [:]
        if let profileName {
            guard let found = config.profiles[profileName] else {
                throw CLIError.configuration("profile '\(profileName)' is not in the config file \(configPath)")
            }
            profile = found
        }
        func pick(_ flag: String?, _ variable: String, _ key: String) -> String? {
            flag ?? env(variable) ?? profile[key]
        }
        func integer(_ flag: Int?, _ variable: String, _ key: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
            if let flag { return flag }
            guard let text = env(variable) ?? profile[key] else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw CLIError.usage("\(variable) / \(key) must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
            }
            return number
        }
        host = pick(options.host, "OCP_HOST", "host")
        realm = pick(options.realm, "OCP_REALM", "realm") ?? "master"
        clientID = pick(options.clientID, "OCP_CLIENT_ID", "client-id") ?? "ocp"
        username = pick(options.username, "OCP_USERNAME", "username")
        maxSessions = try integer(options.maxSessions, "OCP_MAX_SESSIONS", "max-sessions", default: 5, range: 1...1000)
        reserve = try integer(options.reserve, "OCP_RESERVE", "reserve", default: 0, range: 0...999)
        registry = Self.expandingHome(pick(options.registry, "OCP_SESSIONS_REGISTRY", "registry"), environment)
            ?? Self.defaultRegistry(environment)
        keyFile = Self.expandingHome(pick(options.keyFile, "OCP_SESSIONS_KEY_FILE", "key-file"), environment)
        keyFileFromFlag = options.keyFile != nil
        caFile = pick(options.caFile, "OCP_CA_FILE", "ca-file")
        scope = pick(options.scope, "OCP_SCOPE", "scope")
        clientSecretFile = pick(options.clientSecretFile, "OCP_CLIENT_SECRET_FILE", "client-secret-file")
        if reserve >= maxSessions {
            throw CLIError.configuration("--reserve \(reserve) leaves no session of the \(maxSessions) allowed; lower it")
        }
        password = PasswordSources.resolve(options, environment: environment, profile: profile)
    }

    /// `~/x` as the shell would expand it: a quoted `--registry '~/x'` or a profile value is not.
    static func expandingHome(_ path: String?, _ environment: [String: String]) -> String? {
        guard let path, path == "~" || path.hasPrefix("~/") else { return path }
        return (environment["HOME"] ?? NSHomeDirectory()) + path.dropFirst()
    }

    static func defaultRegistry(_ environment: [String: String]) -> String {
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.local/state")
        return state + "/ocp-sessions/registry.sqlite"
    }

    /// The account to lease from; host and username are required here.
    func accountConfiguration() throws -> AccountConfiguration {
        guard let host else {
            throw CLIError.configuration("no IAM host: pass --host, set OCP_HOST, or add host to a profile")
        }
        guard let username else {
            throw CLIError.configuration("no username: pass --username, set OCP_USERNAME, or add username to a profile")
        }
        var secret: Secret?
        if let clientSecretFile { secret = try PasswordSources.readSecretFile(clientSecretFile, what: "client secret file") }
        return AccountConfiguration(
            host: host, realm: realm, username: username, clientID: clientID, clientSecret: secret, scope: scope,
            caFile: caFile, maxSessions: maxSessions, reserve: reserve, password: password)
    }
}
