import CSystemShims
import Foundation

/// File-mode rules for the registry, its WAL and its key: owner-only (group-shared in a team
/// directory), never readable or writable by others, and never on a filesystem where SQLite's
/// locks do not hold.
enum FileSecurity {
    /// A team directory: setgid and group-writable (`install -d -m 2770 -g TEAM`), so every file
    /// created in it belongs to the team's group. Files ocp-sessions creates there get group modes.
    static func isTeamDirectory(_ directory: String) -> Bool {
        var info = stat()
        guard stat(directory.isEmpty ? "." : directory, &info) == 0 else { return false }
        return info.st_mode & S_ISGID != 0 && info.st_mode & 0o070 == 0o070
    }

    /// The registry (and so, by SQLite's rule, its `-wal` and `-shm`): `0660` in a team directory,
    /// else `0600`.
    static func registryFileMode(forFileIn directory: String) -> mode_t {
        isTeamDirectory(directory) ? 0o660 : 0o600
    }

    /// The key file: `0640` in a team directory, else `0600`. The group reads it but never needs to
    /// write it: it is created with `link` and replaced with `rename`, which need only the
    /// directory's write bit, so a group write bit would only let a member damage it in place.
    static func keyFileMode(forFileIn directory: String) -> mode_t {
        isTeamDirectory(directory) ? 0o640 : 0o600
    }

    /// Makes a `rename` or `link` in the file's directory durable.
    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Refuses a file that others (not owner, not group) can read or write.
    static func checkPrivate(fd: Int32, path: String, what: String) throws(RegistryError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .permission("cannot stat \(what) \(path): \(String(cString: strerror(errno)))")
        }
        if info.st_mode & 0o007 != 0 {
            throw .permission("\(what) \(path) is accessible to other users (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod o-rwx \(path)")
        }
    }

    /// Path-based on purpose: opening and closing any descriptor of a file that SQLite has open
    /// in this process drops all of this process's POSIX locks on it (and a peer may then reset
    /// the WAL index under us).
    static func checkPrivate(path: String, what: String) throws(RegistryError) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        if info.st_mode & 0o007 != 0 {
            throw .permission("\(what) \(path) is accessible to other users (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod o-rwx \(path)")
        }
    }

    /// Creates the registry's directory (0700) and an empty registry file (0600, or 0660 in a team
    /// directory) if missing, so SQLite never creates them with the process umask. An existing file
    /// is only stat'ed.
    static func prepareRegistryFile(_ path: String) throws(RegistryError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
                do {
                    try FileManager.default.createDirectory(
                        atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                } catch {
                    throw .permission("cannot create the registry directory \(directory); check that its parent exists and is writable, or pass --registry")
                }
            } else if !isDirectory.boolValue {
                throw .permission("\(directory) is not a directory; pass --registry with a path in a writable directory")
            }
        }
        var info = stat()
        if stat(path, &info) != 0 {
            let mode = registryFileMode(forFileIn: directory)
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
            if fd >= 0 {
                // The umask must not take the group bits in a team directory.
                fchmod(fd, mode)
                close(fd)
            } else if errno != EEXIST {
                let reason = String(cString: strerror(errno))
                throw .permission("cannot create the registry \(path): \(reason); check the directory's permissions or pass --registry")
            }
        }
        guard access(path, R_OK | W_OK) == 0 else {
            throw .permission("cannot read and write the registry \(path): \(String(cString: strerror(errno))); check its permissions or pass --registry")
        }
        try checkPrivate(path: path, what: "registry")
        try checkFilesystem(path: path)
    }

    /// SQLite's locking is unsafe on network filesystems; refuse them unless explicitly allowed.
    static func checkFilesystem(path: String) throws(RegistryError) {
        // getenv: building ProcessInfo's whole environment dictionary costs every command 400,000 instructions.
        if let allow = getenv("OCP_SESSIONS_ALLOW_NETWORK_FS"), String(cString: allow) == "1" { return }
        var info = statfs()
        guard statfs(path, &info) == 0 else { return }
        // An array: instantiating `Set<Int64>` on the way cost every command 500,000 instructions.
        let networkTypes: [Int64] = [
            0x6969,        // NFS
            0x517B,        // SMB
            0xFF53_4D42,   // CIFS
            0xFE53_4D42,   // SMB2
            0x6573_5546,   // FUSE (sshfs and friends)
            0x0102_1997,   // 9P
            0x7375_7245,   // Coda
            0x5346_414F,   // AFS
        ]
        if networkTypes.contains(Int64(info.f_type)) {
            throw .unsafeFilesystem("the registry \(path) is on a network filesystem, where SQLite locking is unsafe; put it on a local disk (or set OCP_SESSIONS_ALLOW_NETWORK_FS=1 at your own risk)")
        }
    }
}
