/// `token`'s arguments as plain values, and a parser for the plain `token [flags]` forms scripts use.
///
/// ArgumentParser costs a cached `token` more than half its instructions (completion-script check,
/// `Mirror` over the property wrappers, and the runtime conformance lookups they trigger). This
/// parser takes only what it fully understands (`token`, then known flags, each value in the next
/// argument or after `=`, not empty, not starting with `-`, within the flags' documented ranges,
/// no flag twice) and returns nil for anything else, so that ArgumentParser handles it (help,
/// completion, every error) with its own messages and exit codes. Its results go through the
/// same `ResolvedSettings` and `TokenCommand.execute` as ArgumentParser's.
struct TokenArguments: Equatable {
    var account = AccountArguments()
    var lease = LeaseArguments()
    var forceRefresh = false
    var json = false
    var heldLease: String?

    /// `arguments` without the program name, or nil when ArgumentParser must have them.
    static func parse(_ arguments: [String]) -> TokenArguments? {
        guard arguments.first == "token" else { return nil }
        var parsed = TokenArguments()
        var seen = Set<String>()
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else { return nil }
            var name = argument
            var attached: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                attached = String(argument[argument.index(after: equals)...])
            }
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "--force-refresh", "--json", "--shared", "--password-stdin":
                guard attached == nil else { return nil }
                switch name {
                case "--force-refresh": parsed.forceRefresh = true
                case "--json": parsed.json = true
                case "--shared": parsed.lease.shared = true
                default: parsed.account.passwordStdin = true
                }
                continue
            default:
                break
            }
            var value = attached
            if value == nil, index < arguments.count {
                value = arguments[index]
                index += 1
            }
            guard let value, !value.isEmpty, !value.hasPrefix("-"), parsed.set(name, value) else { return nil }
        }
        return parsed
    }

    /// Stores an option's value; false for an unknown option or a value ArgumentParser would refuse
    /// (the ranges of `AccountOptions.validate` and `LeaseFlags.validate`).
    private mutating func set(_ name: String, _ value: String) -> Bool {
        switch name {
        case "--host": account.host = value
        case "--realm": account.realm = value
        case "--client-id": account.clientID = value
        case "--username": account.username = value
        case "--registry": account.registry = value
        case "--key-file": account.keyFile = value
        case "--profile": account.profile = value
        case "--ca-file": account.caFile = value
        case "--scope": account.scope = value
        case "--client-secret-file": account.clientSecretFile = value
        case "--password-file": account.passwordFile = value
        case "--password-command": account.passwordCommand = value
        case "--label": lease.label = value
        case "--lease": heldLease = value
        case "--max-sessions":
            guard let number = Self.integer(value, in: 1...1000) else { return false }
            account.maxSessions = number
        case "--reserve":
            guard let number = Self.integer(value, in: 0...999) else { return false }
            account.reserve = number
        case "--min-validity":
            guard let seconds = Self.seconds(value, in: 0...86_400) else { return false }
            lease.minValidity = seconds
        case "--wait":
            guard let seconds = Self.seconds(value, in: 0...86_400) else { return false }
            lease.wait = seconds
        case "--max-hold":
            guard let seconds = Self.seconds(value, in: 1...604_800) else { return false }
            lease.maxHold = seconds
        default:
            return false
        }
        return true
    }

    /// As ArgumentParser reads an `Int` (`Int(String)`), within `range`.
    private static func integer(_ text: String, in range: ClosedRange<Int>) -> Int? {
        Int(text).flatMap { range.contains($0) ? $0 : nil }
    }

    /// As ArgumentParser reads a `Double` (`Double(String)`), finite and within `range`.
    private static func seconds(_ text: String, in range: ClosedRange<Double>) -> Double? {
        Double(text).flatMap { $0.isFinite && range.contains($0) ? $0 : nil }
    }
}
