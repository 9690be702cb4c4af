import OCPSessions

/// The account and registry flags as `ResolvedSettings` reads them: from ArgumentParser
/// (`AccountOptions`) or from `token`'s fast parser (`AccountArguments`). One protocol, so both go
/// through the same precedence code, and a flag added to one that the other lacks does not compile.
protocol AccountSelection {
    var host: String? { get }
    var realm: String? { get }
    var clientID: String? { get }
    var username: String? { get }
    var maxSessions: Int? { get }
    var reserve: Int? { get }
    var registry: String? { get }
    var keyFile: String? { get }
    var profile: String? { get }
    var caFile: String? { get }
    var scope: String? { get }
    var clientSecretFile: String? { get }
    var passwordFile: String? { get }
    var passwordCommand: String? { get }
    var passwordStdin: Bool { get }
}

extension AccountOptions: AccountSelection {}

/// `AccountOptions` as plain values (nil or false: not given on the command line).
struct AccountArguments: AccountSelection, Equatable {
    var host: String?
    var realm: String?
    var clientID: String?
    var username: String?
    var maxSessions: Int?
    var reserve: Int?
    var registry: String?
    var keyFile: String?
    var profile: String?
    var caFile: String?
    var scope: String?
    var clientSecretFile: String?
    var passwordFile: String?
    var passwordCommand: String?
    var passwordStdin = false
}

/// How `token` and `exec` take their lease, from ArgumentParser (`LeaseFlags`) or from `token`'s
/// fast parser (`LeaseArguments`).
protocol LeaseSelection {
    var minValidity: Double { get }
    var wait: Double { get }
    var label: String? { get }
    var shared: Bool { get }
    var maxHold: Double { get }
}

extension LeaseSelection {
    func options(forceRefresh: Bool = false) -> LeaseOptions {
        LeaseOptions(
            minValidity: minValidity, waitTimeout: wait, label: label ?? ProcessIdentity.defaultLabel, maxHold: maxHold,
            shared: shared, forceRefresh: forceRefresh)
    }
}

extension LeaseFlags: LeaseSelection {}

/// `LeaseFlags` as plain values, with the same defaults.
struct LeaseArguments: LeaseSelection, Equatable {
    var minValidity: Double = 30
    var wait: Double = 60
    var label: String?
    var shared = false
    var maxHold: Double = 900
}
