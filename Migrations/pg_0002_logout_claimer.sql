-- PostgreSQL schema 2 = SQLite schema 4 (0004_logout_claimer.sql): who is logging a session out,
-- so a dead claimer's logout is retried at once. logout_claim_lock is the claimer connection's
-- advisory-lock key, as holder_lock is for leases: a claimer on another host is dead when its
-- connection no longer holds it. Additive: older code leaves these NULL and keeps the timed rule.
ALTER TABLE sessions ADD COLUMN logout_claim_pid integer;
ALTER TABLE sessions ADD COLUMN logout_claim_start bigint;
ALTER TABLE sessions ADD COLUMN logout_claim_boot text;
ALTER TABLE sessions ADD COLUMN logout_claim_host text;
ALTER TABLE sessions ADD COLUMN logout_claim_label text;
ALTER TABLE sessions ADD COLUMN logout_claim_lock bigint;
