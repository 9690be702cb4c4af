import Foundation

/// Paths the tests need: a fresh temporary directory per test, and the built `ocp-sessions` binary.
enum TestPaths {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The debug build of the command line, built by `swift test` with the rest of the package.
    static var binary: String {
        if let override = ProcessInfo.processInfo.environment["OCP_SESSIONS_BINARY"] { return override }
        return packageRoot.appendingPathComponent(".build/debug/ocp-sessions").path
    }

    /// A new private directory under the system temp dir, removed by the caller's `defer`.
    static func temporaryDirectory(_ name: String = "ocp-test") -> String {
        let path = NSTemporaryDirectory() + "\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
