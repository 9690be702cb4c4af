import Foundation
import Testing

/// Helpers shared by the security tests (rekey, file modes, token leaks, TLS).
enum SecurityCheck {
    /// Fails the test unless the command failed with `code` and one clear `ocp-sessions:` line
    /// holding `fragment`, with nothing on stdout.
    static func expectOneLineFailure(
        _ result: CLIResult, _ code: Int32, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == code, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("ocp-sessions: "), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(fragment), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(result.stdout)", sourceLocation: sourceLocation)
    }

    /// The permission bits of `path`, or nil if it does not exist.
    static func mode(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_mode & 0o7777)
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// The keys (lines) in a key file.
    static func keyLines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits up to `timeout` seconds for `file` to contain `text`.
    static func waitFor(_ text: String, in file: String, timeout: Double = 60) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let content = try? String(contentsOfFile: file, encoding: .utf8), content.contains(text) { return true }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }
}
