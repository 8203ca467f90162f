-- Trust: personal invites, approval requests, registration throttling, the audit log, and
-- events rejected before processing (a stale signed timestamp).

-- How a chat account's link to a roster person was proven, and what the person shared.
ALTER TABLE identities ADD COLUMN verified_via TEXT CHECK (verified_via IN ('invite', 'approval'));
ALTER TABLE identities ADD COLUMN shared_phone TEXT;          -- Zalo user_submit_info, normalized 84…
ALTER TABLE identities ADD COLUMN shared_name TEXT;           -- the name typed in that form (self-declared)
ALTER TABLE identities ADD COLUMN erase_requested_at INTEGER; -- XOA waits for its confirmation

-- One-time personal registration codes; only a hash of the code is kept.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES staff (id),
    code_hash   TEXT    NOT NULL UNIQUE,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    voided_at   INTEGER,                                  -- reissued, or the person left
    issued_by   TEXT    NOT NULL
);
CREATE INDEX invites_staff ON invites (staff_id, voided_at);

-- An invite links at most one account per platform.
CREATE TABLE invite_uses (
    invite_id    INTEGER NOT NULL REFERENCES invites (id),
    platform     TEXT    NOT NULL,
    identity_id  INTEGER NOT NULL REFERENCES identities (id),
    used_at      INTEGER NOT NULL,
    PRIMARY KEY (invite_id, platform)
);

-- `DK <roster code>` of a member: the unit head approves or refuses it in the chat.
CREATE TABLE registration_requests (
    id                   INTEGER PRIMARY KEY,
    identity_id          INTEGER NOT NULL REFERENCES identities (id),
    staff_id             INTEGER NOT NULL REFERENCES staff (id),
    state                TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'approved', 'refused', 'voided')),
    created_at           INTEGER NOT NULL,
    notified_at          INTEGER,                         -- the heads were told
    notify_after         INTEGER,                         -- nobody to tell yet: try again then
    decided_at           INTEGER,
    decided_by_staff_id  INTEGER REFERENCES staff (id)
);
CREATE INDEX registration_requests_pending ON registration_requests (state, notified_at);
CREATE INDEX registration_requests_staff ON registration_requests (staff_id, state);
CREATE INDEX registration_requests_identity ON registration_requests (identity_id, state);

-- Every DK an account sent, for the per-account and global ceilings on failures.
CREATE TABLE registration_attempts (
    id           INTEGER PRIMARY KEY,
    identity_id  INTEGER NOT NULL REFERENCES identities (id),
    at           INTEGER NOT NULL,
    succeeded    INTEGER NOT NULL
);
CREATE INDEX registration_attempts_identity ON registration_attempts (identity_id, at);
CREATE INDEX registration_attempts_at ON registration_attempts (at);

-- Who linked, unlinked, approved, refused, issued or chose what, when, from which account.
CREATE TABLE audit_log (
    id                 INTEGER PRIMARY KEY,
    at                 INTEGER NOT NULL,
    action             TEXT    NOT NULL,
    actor              TEXT    NOT NULL,                  -- a staff code, or cli / import / system
    actor_staff_id     INTEGER REFERENCES staff (id),
    actor_identity_id  INTEGER REFERENCES identities (id),
    subject_staff_id   INTEGER REFERENCES staff (id),
    detail             TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Registrations made with a bare roster code proved nothing: they are undone (the history
-- stays with the roster person) and the people register again with an invite.
INSERT INTO audit_log (at, action, actor, actor_identity_id, subject_staff_id, detail)
SELECT CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'unlink', 'system', id, staff_id,
       platform || ' account linked by roster code before invites existed'
FROM identities WHERE staff_id IS NOT NULL;
UPDATE identities SET staff_id = NULL, registered_at = NULL WHERE staff_id IS NOT NULL;

-- inbox_events gains the state `rejected`. SQLite cannot alter a CHECK constraint, so the
-- table is rebuilt as SQLite's ALTER TABLE documentation describes; `Db::migrate` runs the
-- SQLite migrations with foreign keys off and checks them afterwards.
CREATE TABLE inbox_events_new (
    id               INTEGER PRIMARY KEY,
    platform         TEXT    NOT NULL,
    dedup_key        TEXT    NOT NULL,                 -- msg_id / mid, or a hash of the event
    sender_id        TEXT    NOT NULL,
    event_kind       TEXT    NOT NULL,                 -- message, follow, echo, receipt, …
    event_name       TEXT    NOT NULL,                 -- the platform's name for it
    payload          TEXT    NOT NULL,                 -- emptied after the retention period
    received_at      INTEGER NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'done', 'ignored', 'parked', 'rejected')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    lease_until      INTEGER,
    lease_owner      TEXT,
    last_error       TEXT,
    processed_at     INTEGER,
    UNIQUE (platform, dedup_key)
);
INSERT INTO inbox_events_new SELECT * FROM inbox_events;
DROP TABLE inbox_events;
ALTER TABLE inbox_events_new RENAME TO inbox_events;
CREATE INDEX inbox_events_pending ON inbox_events (state, id);
CREATE INDEX inbox_events_queue ON inbox_events (state, platform, sender_id, id);
CREATE INDEX inbox_events_received ON inbox_events (received_at);
