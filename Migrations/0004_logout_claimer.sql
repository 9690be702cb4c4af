-- Schema version 4: who is logging a session out.
-- A logout claim used to hold for its full duration (30 s) even when the process holding it was
-- killed; with the claimer recorded, a dead claimer's logout is retried at once, like a dead
-- holder's lease is reclaimed. Additive: older code leaves these NULL and keeps the timed rule.
ALTER TABLE sessions ADD COLUMN logout_claim_pid INTEGER;
ALTER TABLE sessions ADD COLUMN logout_claim_start INTEGER;
ALTER TABLE sessions ADD COLUMN logout_claim_boot TEXT;
ALTER TABLE sessions ADD COLUMN logout_claim_host TEXT;
ALTER TABLE sessions ADD COLUMN logout_claim_label TEXT;
