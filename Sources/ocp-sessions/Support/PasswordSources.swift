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

    /// Runs the command with /bin/sh and takes the first line of its output, like git credential helpers.
    static func fromCommand(_ command: String) -> PasswordSource {
        PasswordSource {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            let output = Pipe()
            process.standardOutput = output
            process.standardInput = FileHandle.nullDevice
            do { try process.run() } catch {
                throw OCPSessionsError(.configuration, "the password command could not be started")
            }
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw OCPSessionsError(.configuration, "the password command failed (exit \(process.terminationStatus))")
            }
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            guard !line.isEmpty else { throw OCPSessionsError(.configuration, "the password command printed nothing") }
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
