import Foundation

/// The `--token-file` of `exec`: always the current access token, mode 0600, replaced atomically
/// (written beside it, then renamed) so a reader never sees half a token.
struct TokenFile {
    let path: String

    func write(_ token: String) throws {
        let temporary = path + ".\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CLIError.configuration("cannot write the token file \(path): \(String(cString: strerror(errno)))")
        }
        let bytes = Array((token + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        fchmod(descriptor, 0o600)
        close(descriptor)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CLIError.configuration("cannot write the token file \(path): \(String(cString: strerror(errno)))")
        }
    }

    func remove() {
        unlink(path)
    }
}
