import CSQLite

/// Keeps the write-ahead log short for the next process that opens the registry alone.
///
/// The log is kept between processes (`Database.keepWriteAheadLogOnClose`), and the first
/// connection to open the file rebuilds its index by reading every frame of the log: with the
/// default checkpoint every 1,000 frames that is up to 4 MB and 6.8 million instructions, more
/// than the rest of a cached `token`. This watch replaces SQLite's automatic checkpoint hook with
/// the same rule (a passive checkpoint once the log holds 1,000 frames) and remembers the log's
/// length at this connection's last commit; a connection that closes with more than
/// `truncateAbove` frames in the log checkpoints and truncates it, if no other connection is in a
/// transaction (it never waits for one).
final class WriteAheadLogWatch {
    /// SQLite's own automatic checkpoint threshold.
    static let checkpointAt: Int32 = 1000
    /// A log this long costs its next lone opener about a million instructions to index.
    static let truncateAbove: Int32 = 200

    private(set) var framesAtLastCommit: Int32 = 0

    /// Installs the hook on `db`. The connection must not outlive `self`.
    func install(on db: OpaquePointer) {
        sqlite3_wal_hook(db, { context, db, name, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<WriteAheadLogWatch>.fromOpaque(context).takeUnretainedValue().framesAtLastCommit = frames
            if frames >= WriteAheadLogWatch.checkpointAt {
                sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Before closing `db`: truncates a long log if nobody else is using the registry right now.
    func truncateIfLong(_ db: OpaquePointer) {
        guard framesAtLastCommit > Self.truncateAbove else { return }
        sqlite3_busy_handler(db, nil, nil)
        sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
    }
}
