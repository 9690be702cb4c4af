import Foundation

/// The database password from libpq's sources, never from an argument: `PGPASSWORD`, else the
/// password file (`PGPASSFILE`, else `~/.pgpass`).
///
/// The file's format is libpq's: one `host:port:database:username:password` entry a line, `*`
/// matching anything in the first four fields, `\:` and `\\` escaping a colon and a backslash, lines
/// starting with `#` ignored, the first matching line wins. As libpq does, a file that group or
/// others can read is ignored with a warning.
enum PostgresPasswordFile {
    /// The password for a connection, or nil (trust and peer-less setups need none).
    /// `warn` receives one line when the password file is ignored.
    static func password(host: String, port: Int, database: String, user: String,
                         environment: [String: String], warn: (String) -> Void) -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        guard let path = path(environment: environment) else { return nil }
        var info = stat()
        // No file is the common case and says nothing.
        guard stat(path, &info) == 0 else { return nil }
        guard info.st_mode & S_IFMT == S_IFREG else {
            warn("warning: password file \(path) is not a plain file; ignored")
            return nil
        }
        guard info.st_mode & (S_IRWXG | S_IRWXO) == 0 else {
            warn("warning: password file \(path) has group or world access; permissions should be u=rw (0600) or less; ignored")
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            warn("warning: password file \(path) could not be read; ignored")
            return nil
        }
        return match(String(decoding: data, as: UTF8.self), host: host, port: port, database: database, user: user)
    }

    /// `PGPASSFILE`, else `.pgpass` in the home directory.
    static func path(environment: [String: String]) -> String? {
        if let file = environment["PGPASSFILE"], !file.isEmpty { return file }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.pgpass" }
        guard let entry = getpwuid(getuid()), let home = entry.pointee.pw_dir else { return nil }
        return String(cString: home) + "/.pgpass"
    }

    /// The password of the first line of `contents` matching the connection, or nil.
    static func match(_ contents: String, host: String, port: Int, database: String, user: String) -> String? {
        let wanted = [host, String(port), database, user]
        for line in contents.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            if line.first == "#" { continue }
            let fields = split(line)
            guard fields.count >= 5 else { continue }
            let matches = zip(fields.prefix(4), wanted).allSatisfy { field, value in
                field.raw == "*" || field.value == value
            }
            if matches {
                // The password ends at its first unescaped colon, as libpq reads it.
                let password = fields[4].value
                return password.isEmpty ? nil : password
            }
        }
        return nil
    }

    /// A field as written (`raw`, to tell a bare `*` from an escaped one) and unescaped (`value`).
    struct Field {
        var raw = ""
        var value = ""
    }

    /// Splits a line at unescaped colons, unescaping `\x` to `x`.
    static func split(_ line: Substring) -> [Field] {
        var fields: [Field] = [Field()]
        var escaped = false
        for character in line {
            if escaped {
                fields[fields.count - 1].raw.append(character)
                fields[fields.count - 1].value.append(character)
                escaped = false
            } else if character == "\\" {
                fields[fields.count - 1].raw.append(character)
                escaped = true
            } else if character == ":" {
                fields.append(Field())
            } else {
                fields[fields.count - 1].raw.append(character)
                fields[fields.count - 1].value.append(character)
            }
        }
        return fields
    }
}
