-- ocp-sessions registry, schema version 1.
-- Times are epoch seconds (REAL, wall clock): expiries are shared between processes.
-- Tokens are sealed (AES-GCM, session id as associated data); nothing here is a secret in clear.

CREATE TABLE registry_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per IAM account. The IAM's limiter counts a user's sessions across all clients,
-- so the account is (host, realm, username) and the limit lives here.
CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY,
    host                TEXT NOT NULL,
    realm               TEXT NOT NULL,
    username            TEXT NOT NULL,
    session_limit       INTEGER NOT NULL,
    reserve             INTEGER NOT NULL DEFAULT 0,
    -- Learned from a limiter denial: how many sessions we could hold when the IAM said no.
    effective_capacity  INTEGER,
    consecutive_denials INTEGER NOT NULL DEFAULT 0,
    -- After a denial no process logs in for this account before this time.
    login_blocked_until REAL,
    -- SSO idle timeout as the IAM reported it (refresh_expires_in of a fresh login).
    idle_timeout        REAL,
    -- Access token lifetime as the IAM reported it (expires_in of a fresh login).
    access_lifetime     REAL,
    -- When a process last asked the account API about logins of unknown outcome.
    last_reconcile_at   REAL,
    endpoints           TEXT,
    last_error          TEXT,
    last_error_at       REAL,
    created_at          REAL NOT NULL,
    UNIQUE (host, realm, username)
);

-- Every session we hold, or are logging out, at the IAM.
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,            -- session_state
    account_id          INTEGER NOT NULL REFERENCES accounts(id),
    client_id           TEXT NOT NULL,
    state               TEXT NOT NULL,               -- 'active' | 'logging_out'
    access_token        BLOB NOT NULL,               -- sealed
    refresh_token       BLOB NOT NULL,               -- sealed
    access_expires_at   REAL NOT NULL,
    refresh_expires_at  REAL,                        -- NULL: the IAM gave none (offline)
    created_at          REAL NOT NULL,
    last_used_at        REAL NOT NULL,
    last_refreshed_at   REAL NOT NULL,
    -- Expiry of the newest access token handed to a caller: housekeeping never logs out a
    -- session whose handed-out token may still be in use.
    handed_out_until    REAL NOT NULL DEFAULT 0,
    -- Bumped on every token write, so a writer can tell a peer got there first.
    version             INTEGER NOT NULL DEFAULT 1,
    -- The lease whose holder is refreshing this session now, and until when the claim holds.
    refresh_claim       TEXT,
    refresh_claim_until REAL,
    -- A logout in progress (or to be retried) holds this claim until it expires.
    logout_claim_until  REAL
);
CREATE INDEX sessions_by_account ON sessions(account_id);

-- Holders, as (pid, process start time, boot id, host): a pid alone is reused.
CREATE TABLE leases (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    shared          INTEGER NOT NULL,
    holder_pid      INTEGER NOT NULL,
    holder_start    INTEGER NOT NULL,
    holder_boot     TEXT NOT NULL,
    holder_host     TEXT NOT NULL,
    label           TEXT NOT NULL,
    acquired_at     REAL NOT NULL,
    expires_at      REAL NOT NULL
);
CREATE INDEX leases_by_account ON leases(account_id);
CREATE INDEX leases_by_session ON leases(session_id);

-- Logins in flight: a reservation written before the request, so that a login whose outcome is
-- unknown (timeout, killed process) keeps counting until it is proven gone.
CREATE TABLE logins (
    id              TEXT PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    state           TEXT NOT NULL,                   -- 'in_flight' | 'unknown'
    holder_pid      INTEGER NOT NULL,
    holder_start    INTEGER NOT NULL,
    holder_boot     TEXT NOT NULL,
    holder_host     TEXT NOT NULL,
    label           TEXT NOT NULL,
    started_at      REAL NOT NULL,
    deadline        REAL NOT NULL
);
CREATE INDEX logins_by_account ON logins(account_id);

-- Callers waiting for a session, first come first served across processes.
CREATE TABLE waiters (
    ticket          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    holder_pid      INTEGER NOT NULL,
    holder_start    INTEGER NOT NULL,
    holder_boot     TEXT NOT NULL,
    holder_host     TEXT NOT NULL,
    label           TEXT NOT NULL,
    enqueued_at     REAL NOT NULL,
    heartbeat_at    REAL NOT NULL
);
CREATE INDEX waiters_by_account ON waiters(account_id);

-- Append-only history; never a token. Bounded by age and count in the transactions that write it.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          REAL NOT NULL,
    account_id  INTEGER,
    kind        TEXT NOT NULL,   -- login | refresh | logout | lease | release | eviction | error | ...
    session_id  TEXT,
    lease_id    TEXT,
    pid         INTEGER,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_time ON events(at);
