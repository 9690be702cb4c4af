import Foundation

/// A cheap look at the registry file's first 100 bytes before SQLite opens it, so a truncated or
/// foreign file is refused at once, whatever the command reads later. SQLite itself only notices a
/// missing page when a query reaches it, and a command that never reads that page would carry on.
enum RegistryFileHeader {
    static let magic = Array("SQLite format 3\u{0}".utf8)

    /// Throws `.corrupt` for a file that is not an SQLite database or is shorter than its header
    /// says. An empty file is fine (a registry being created). Reads only; the descriptor is closed
    /// before SQLite opens the file, so no lock of this process is affected.
    static func check(_ path: String) throws(RegistryError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return }  // the open that follows reports why
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else { return }
        var header = [UInt8](repeating: 0, count: 100)
        let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 100, 0) }
        // Looked at after the header: see `problem` for why an empty log matters.
        var wal = stat()
        let walIsEmpty = stat(path + "-wal", &wal) != 0 || wal.st_size == 0
        let found = problem(header: Array(header.prefix(max(count, 0))), fileSize: Int64(info.st_size), walIsEmpty: walIsEmpty)
        if let problem = found {
            throw .corrupt(
                "the registry \(path) is damaged or not an ocp-sessions registry (\(problem)); it was left untouched — move it aside to start a new one")
        }
    }

    /// What is wrong with a file of `fileSize` bytes starting with `header`, or nil (pure).
    ///
    /// The size is compared with the header's page count only when the write-ahead log is empty or
    /// absent: a checkpoint copies page 1 (with the new count) before the pages that extend the
    /// file, so while one runs the file may briefly be shorter than its header says. A checkpoint
    /// needs frames in the log, and with the log kept on close it is never emptied while frames
    /// could still be copied, so an empty log rules that out.
    static func problem(header: [UInt8], fileSize: Int64, walIsEmpty: Bool) -> String? {
        guard header.count == 100 else { return "only \(fileSize) bytes, shorter than an SQLite header" }
        guard Array(header.prefix(16)) == magic else { return "not an SQLite database" }
        func big(_ offset: Int, _ length: Int) -> UInt32 {
            header[offset..<offset + length].reduce(0) { $0 << 8 | UInt32($1) }
        }
        // Page size: a power of two from 512 to 32768, or 1 meaning 65536.
        let rawPageSize = big(16, 2)
        let pageSize = rawPageSize == 1 ? 65_536 : Int64(rawPageSize)
        guard pageSize >= 512, pageSize <= 65_536, pageSize & (pageSize - 1) == 0 else {
            return "invalid page size \(rawPageSize)"
        }
        // The in-header page count is valid when "version-valid-for" equals the change counter.
        let pages = Int64(big(28, 4))
        guard walIsEmpty, big(92, 4) == big(24, 4), pages > 0 else { return nil }
        if fileSize < pages * pageSize {
            return "truncated: \(fileSize) bytes where its header says \(pages * pageSize)"
        }
        return nil
    }
}
