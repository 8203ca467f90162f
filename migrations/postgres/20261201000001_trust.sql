-- Trust: personal invites, approval requests, registration throttling, the audit log, and
-- events rejected before processing (a stale signed timestamp).

-- How a chat account's link to a roster person was proven, and what the person shared.
ALTER TABLE identities ADD COLUMN verified_via TEXT CHECK (verified_via IN ('invite', 'approval'));
ALTER TABLE identities ADD COLUMN shared_phone TEXT;          -- Zalo user_submit_info, normalized 84…
ALTER TABLE identities ADD COLUMN shared_name TEXT;           -- the name typed in that form (self-declared)
ALTER TABLE identities ADD COLUMN erase_requested_at BIGINT; -- XOA waits for its confirmation

-- One-time personal registration codes; only a hash of the code is kept.
CREATE TABLE invites (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id    BIGINT NOT NULL REFERENCES staff (id),
    code_hash   TEXT    NOT NULL UNIQUE,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    voided_at   BIGINT,                                  -- reissued, or the person left
    issued_by   TEXT    NOT NULL
);
CREATE INDEX invites_staff ON invites (staff_id, voided_at);

-- An invite links at most one account per platform.
CREATE TABLE invite_uses (
    invite_id    BIGINT NOT NULL REFERENCES invites (id),
    platform     TEXT    NOT NULL,
    identity_id  BIGINT NOT NULL REFERENCES identities (id),
    used_at      BIGINT NOT NULL,
    PRIMARY KEY (invite_id, platform)
);

-- `DK <roster code>` of a member: the unit head approves or refuses it in the chat.
CREATE TABLE registration_requests (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identity_id          BIGINT NOT NULL REFERENCES identities (id),
    staff_id             BIGINT NOT NULL REFERENCES staff (id),
    state                TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'approved', 'refused', 'voided')),
    created_at           BIGINT NOT NULL,
    notified_at          BIGINT,                         -- the heads were told
    notify_after         BIGINT,                         -- nobody to tell yet: try again then
    decided_at           BIGINT,
    decided_by_staff_id  BIGINT REFERENCES staff (id)
);
CREATE INDEX registration_requests_pending ON registration_requests (state, notified_at);
CREATE INDEX registration_requests_staff ON registration_requests (staff_id, state);
CREATE INDEX registration_requests_identity ON registration_requests (identity_id, state);

-- Every DK an account sent, for the per-account and global ceilings on failures.
CREATE TABLE registration_attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identity_id  BIGINT NOT NULL REFERENCES identities (id),
    at           BIGINT NOT NULL,
    succeeded    BIGINT NOT NULL
);
CREATE INDEX registration_attempts_identity ON registration_attempts (identity_id, at);
CREATE INDEX registration_attempts_at ON registration_attempts (at);

-- Who linked, unlinked, approved, refused, issued or chose what, when, from which account.
CREATE TABLE audit_log (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                 BIGINT NOT NULL,
    action             TEXT    NOT NULL,
    actor              TEXT    NOT NULL,                  -- a staff code, or cli / import / system
    actor_staff_id     BIGINT REFERENCES staff (id),
    actor_identity_id  BIGINT REFERENCES identities (id),
    subject_staff_id   BIGINT REFERENCES staff (id),
    detail             TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Registrations made with a bare roster code proved nothing: they are undone (the history
-- stays with the roster person) and the people register again with an invite.
INSERT INTO audit_log (at, action, actor, actor_identity_id, subject_staff_id, detail)
SELECT CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT), 'unlink', 'system', id, staff_id,
       platform || ' account linked by roster code before invites existed'
FROM identities WHERE staff_id IS NOT NULL;
UPDATE identities SET staff_id = NULL, registered_at = NULL WHERE staff_id IS NOT NULL;

-- inbox_events gains the state `rejected` (a stale signed timestamp: kept, never processed).
ALTER TABLE inbox_events DROP CONSTRAINT inbox_events_state_check;
ALTER TABLE inbox_events ADD CONSTRAINT inbox_events_state_check
    CHECK (state IN ('pending', 'done', 'ignored', 'parked', 'rejected'));
CREATE INDEX inbox_events_received ON inbox_events (received_at);
