import Foundation

/// The commands that only look at (or tidy) a registry never create one: a mistyped `--registry`
/// would otherwise give an empty registry and a misleading "no sessions".
enum RegistryPresence {
    /// The exit code when there is no registry at the path (sysexits EX_NOINPUT).
    static let missingExitCode: Int32 = 66

    /// Throws unless a registry file exists at `path`; creates nothing.
    static func requireExisting(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 { return }
        let code = errno
        if code == ENOENT || code == ENOTDIR {
            throw CLIError.failure(
                "no registry at \(path); check --registry / OCP_SESSIONS_REGISTRY (token and exec create it on first use)",
                missingExitCode)
        }
        throw CLIError.configuration("cannot look at the registry \(path): \(String(cString: strerror(code)))")
    }
}
