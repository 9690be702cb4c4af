import Foundation

/// This process as a holder, and the `/proc` checks that tell whether another holder still runs.
public enum ProcessIdentity {
    /// The boot id: a holder recorded under another boot is dead.
    public static let bootID: String = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown-boot"
    }()

    /// The environment variable that replaces the host name in holder identities.
    public static let hostIDVariable = "OCP_SESSIONS_HOST_ID"

    /// The host recorded for this process's holders: `OCP_SESSIONS_HOST_ID` when set (containers
    /// that share a host name, or tests whose processes act as separate hosts on one machine),
    /// else the host name. Holders on another host are never judged by this host's `/proc`.
    public static let hostName: String = hostID(environment: ProcessInfo.processInfo.environment)

    /// `OCP_SESSIONS_HOST_ID` trimmed, when it holds something; else the host name.
    static func hostID(environment: [String: String]) -> String {
        if let id = environment[hostIDVariable]?.trimmingCharacters(in: .whitespacesAndNewlines), !id.isEmpty {
            return id
        }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether a holder runs under this kernel (same host id and boot), so `/proc` can judge it.
    /// A holder of another host id is never judged here, whatever boot id it reports: processes
    /// acting as separate hosts on one machine share the boot id, machines sharing a host name don't.
    public static func isLocal(_ holder: HolderIdentity) -> Bool {
        holder.host == hostName && holder.bootID == bootID
    }

    /// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), or nil if no such process.
    ///
    /// Called for every holder in every scheduling decision, inside the write transaction: it reads
    /// the file with one `read` into a stack buffer and scans bytes (a `String` split of the line
    /// cost 230,000 instructions a call, a quarter of a warm acquire + release).
    public static func startTime(of pid: Int) -> Int? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer -> Int? in
            let count = read(fd, buffer.baseAddress, buffer.count)
            guard count > 0 else { return nil }
            return parseStartTime(UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// Field 22 of a `/proc/<pid>/stat` line, or nil for a zombie or a malformed line.
    static func parseStartTime(_ line: UnsafeBufferPointer<UInt8>) -> Int? {
        // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
        guard let close = line.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var field = 2
        var index = close + 1
        while index < line.count {
            // Fields are separated by single spaces; each space starts the next field.
            if line[index] == UInt8(ascii: " ") {
                field += 1
                index += 1
                continue
            }
            if field == 3 {
                // A zombie (killed, not yet reaped) holds nothing any more.
                if line[index] == UInt8(ascii: "Z") || line[index] == UInt8(ascii: "X") { return nil }
            } else if field == 22 {
                var number = 0
                var digits = 0
                while index < line.count, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "9") {
                    number = number &* 10 &+ Int(line[index] - UInt8(ascii: "0"))
                    index += 1
                    digits += 1
                }
                return digits > 0 ? number : nil
            }
            index += 1
        }
        return nil
    }

    /// This process's own start time: it never changes, so it is read once.
    static let ownStartTime: Int = startTime(of: Int(getpid())) ?? 0

    /// This process, labelled for people.
    public static func current(label: String) -> HolderIdentity {
        HolderIdentity(pid: Int(getpid()), startTime: ownStartTime, bootID: bootID, host: hostName, label: label)
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
