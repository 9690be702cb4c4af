-- ocp-sessions registry, schema version 3: the registry records which key seals its tokens.
--
-- registry_meta 'sealing_key_id' is the current key's id (upper-case hex of the 4-byte id that
-- every sealed blob carries after its version byte). Every process checks it at the start of each
-- transaction and switches to that key (reloading the key file) before it seals anything; `rekey`
-- re-seals every row and changes it in one transaction.

-- Seeded from an existing row; on an empty registry the first process that writes records its key.
INSERT OR IGNORE INTO registry_meta (key, value)
    SELECT 'sealing_key_id', hex(substr(access_token, 2, 4)) FROM sessions LIMIT 1;

-- The database itself refuses a token sealed with any other key, so a process that does not
-- know about the recorded id (a release before schema 2, still running) cannot write a row the
-- others cannot open: its write fails instead.
CREATE TRIGGER sessions_insert_sealed_with_current_key BEFORE INSERT ON sessions
WHEN (SELECT value FROM registry_meta WHERE key = 'sealing_key_id') IS NOT NULL
    AND (hex(substr(NEW.access_token, 2, 4)) IS NOT (SELECT value FROM registry_meta WHERE key = 'sealing_key_id')
        OR hex(substr(NEW.refresh_token, 2, 4)) IS NOT (SELECT value FROM registry_meta WHERE key = 'sealing_key_id'))
BEGIN
    SELECT RAISE(ABORT, 'token sealed with a key other than the registry''s current sealing key');
END;

CREATE TRIGGER sessions_update_sealed_with_current_key BEFORE UPDATE OF access_token, refresh_token ON sessions
WHEN (SELECT value FROM registry_meta WHERE key = 'sealing_key_id') IS NOT NULL
    AND (hex(substr(NEW.access_token, 2, 4)) IS NOT (SELECT value FROM registry_meta WHERE key = 'sealing_key_id')
        OR hex(substr(NEW.refresh_token, 2, 4)) IS NOT (SELECT value FROM registry_meta WHERE key = 'sealing_key_id'))
BEGIN
    SELECT RAISE(ABORT, 'token sealed with a key other than the registry''s current sealing key');
END;
