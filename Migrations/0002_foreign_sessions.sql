-- Schema version 2: what the account API last showed of sessions this registry does not know.
-- Additive: a process of schema 1 ignores these columns and keeps working during an upgrade.

-- Sessions of the user at the IAM that are neither in this registry nor a login of ours in flight
-- (a browser, another tool, another registry), as last counted, and when.
ALTER TABLE accounts ADD COLUMN foreign_sessions INTEGER;
ALTER TABLE accounts ADD COLUMN foreign_counted_at REAL;
-- The account API refused our token (the user lacks the account roles): no census before this time.
ALTER TABLE accounts ADD COLUMN account_api_refused_until REAL;
