import Foundation
import OCPSessions

/// The four password sources. Each is read only when a login is needed, never stored, and never
/// taken from a flag's value.
enum PasswordSources {
    static func resolve(_ options: some AccountSelection, environment: [String: String], profile: [String: String]) -> PasswordSource {
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let file = options.passwordFile { return fromFile(file) }
        if let command = options.passwordCommand { return fromCommand(command) }
        if options.passwordStdin { return fromStandardInput() }
        if let password = env("OCP_PASSWORD") { return .constant(password) }
        if let file = env("OCP_PASSWORD_FILE") { return fromFile(file) }
        if let command = env("OCP_PASSWORD_COMMAND") { return fromCommand(command) }
        if let file = profile["password-file"] { return fromFile(file) }
        if let command = profile["password-command"] { return fromCommand(command) }
        return .none
    }

    static func fromFile(_ path: String) -> PasswordSource {
        PasswordSource { try readSecretFile(path, what: "password file") }
    }

    /// Reads the first line of a file that only its owner can read.
    static func readSecretFile(_ path: String, what: String) throws -> Secret {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw OCPSessionsError(.configuration, "cannot read \(what) \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw OCPSessionsError(.configuration, "\(what) \(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw OCPSessionsError(.configuration, "cannot read \(what) \(path)")
        }
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard !line.isEmpty else { throw OCPSessionsError(.configuration, "\(what) \(path) is empty") }
        return Secret(line.hasSuffix("\r") ? String(line.dropLast()) : line)
    }

    /// Runs the command with /bin/sh and takes the first line of its output, like git credential
    /// helpers. Its stderr is captured, not passed through, so a failure stays one line: the
    /// helper's last line of complaint is quoted in it (shortened, control characters dropped).
    static func fromCommand(_ command: String) -> PasswordSource {
        PasswordSource {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            let output = Pipe(), errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            process.standardInput = FileHandle.nullDevice
            do { try process.run() } catch {
                throw OCPSessionsError(.configuration, "the password command could not be started")
            }
            // Read stderr on another thread: a helper filling one pipe while we wait on the other
            // would block both.
            let complaint = CapturedOutput(errors.fileHandleForReading)
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let said = complaint.lastLine().map { ": \($0)" } ?? ""
            guard process.terminationReason == .exit else {
                throw OCPSessionsError(.configuration, "the password command was killed by signal \(process.terminationStatus)\(said)")
            }
            guard process.terminationStatus == 0 else {
                throw OCPSessionsError(.configuration, "the password command failed (exit \(process.terminationStatus))\(said)")
            }
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            guard !line.isEmpty else { throw OCPSessionsError(.configuration, "the password command printed nothing\(said)") }
            return Secret(line)
        }
    }

    static func fromStandardInput() -> PasswordSource {
        PasswordSource {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw OCPSessionsError(.configuration, "--password-stdin: no password on standard input")
            }
            return Secret(line)
        }
    }
}

/// A pipe drained on a background thread, for a child's stderr.
final class CapturedOutput: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    /// The last non-empty line, printable characters only, at most 160 of them; nil if none.
    func lastLine() -> String? {
        done.wait()
        let text = String(decoding: data.suffix(4096), as: UTF8.self)
        guard let last = text.split(whereSeparator: \.isNewline).last(where: { !$0.allSatisfy(\.isWhitespace) }) else { return nil }
        let printable = String(String.UnicodeScalarView(last.unicodeScalars.filter {
            $0.value >= 0x20 && $0.value != 0x7f && $0.properties.generalCategory != .format
        }))
        return printable.count > 160 ? String(printable.prefix(160)) + "…" : printable
    }
}
