import Foundation

/// This process as a holder, and the `/proc` checks that tell whether another holder still runs.
public enum ProcessIdentity {
    /// The boot id: a holder recorded under another boot is dead.
    public static let bootID: String = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown-boot"
    }()

    public static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), or nil if no such process.
    public static func startTime(of pid: Int) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        // A zombie (killed, not yet reaped) holds nothing any more.
        if fields[0] == "Z" || fields[0] == "X" { return nil }
        return Int(fields[19])
    }

    /// This process, labelled for people.
    public static func current(label: String) -> HolderIdentity {
        let pid = Int(getpid())
        return HolderIdentity(pid: pid, startTime: startTime(of: pid) ?? 0, bootID: bootID, host: hostName, label: label)
    }
}

/// Liveness from `/proc`: same host and boot, the pid exists, and it started when recorded.
public struct ProcessLiveness: HolderLiveness {
    public init() {}

    public func isAlive(_ holder: HolderIdentity) -> Bool {
        // Another host cannot be checked from here: the lease's hold time is the backstop.
        guard holder.host == ProcessIdentity.hostName else { return true }
        guard holder.bootID == ProcessIdentity.bootID else { return false }
        guard let start = ProcessIdentity.startTime(of: holder.pid) else { return false }
        return start == holder.startTime
    }
}

extension ProcessIdentity {
    /// The parent process's command name, the default label of a holder.
    public static let defaultLabel: String = {
        let comm = (try? String(contentsOfFile: "/proc/\(getppid())/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return comm.flatMap { $0.isEmpty ? nil : $0 } ?? "pid \(getppid())"
    }()
}
