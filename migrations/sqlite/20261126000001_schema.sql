-- The whole product's schema. Times are epoch milliseconds (UTC); weeks are ISO weeks
-- written '2025-W12'; flags are 0/1 integers so that one query text serves SQLite and
-- PostgreSQL through sqlx's Any driver.

CREATE TABLE units (
    id            INTEGER PRIMARY KEY,
    code          TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('so', 'phong', 'truong')),
    parent_id     INTEGER REFERENCES units (id),
    page_urls     TEXT    NOT NULL DEFAULT '',          -- as imported, ';'-separated
    weekly_quota  INTEGER,                              -- NULL: the kind's default
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX units_parent ON units (parent_id);

-- One row per page URL of a unit; `owner` is the canonical owner a post's owner is matched against.
CREATE TABLE unit_pages (
    id       INTEGER PRIMARY KEY,
    unit_id  INTEGER NOT NULL REFERENCES units (id),
    url      TEXT    NOT NULL,
    owner    TEXT,
    UNIQUE (unit_id, url)
);
CREATE INDEX unit_pages_owner ON unit_pages (owner);

CREATE TABLE staff (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,               -- the registration code people send
    full_name   TEXT    NOT NULL,
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    role        TEXT    NOT NULL CHECK (role IN ('member', 'head', 'admin')),
    phone       TEXT,                                  -- normalized 84…
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX staff_unit ON staff (unit_id);

-- A chat account on one platform; linked to a staff member once registered.
CREATE TABLE identities (
    id                INTEGER PRIMARY KEY,
    platform          TEXT    NOT NULL CHECK (platform IN ('zalo', 'messenger')),
    platform_user_id  TEXT    NOT NULL,
    staff_id          INTEGER REFERENCES staff (id),
    display_name      TEXT,
    followed          INTEGER NOT NULL DEFAULT 0,
    reachable         INTEGER NOT NULL DEFAULT 1,
    last_inbound_at   INTEGER,                      -- opens the platform's messaging window
    last_seen_at      INTEGER,                      -- any event, receipts included
    has_held          INTEGER NOT NULL DEFAULT 0,       -- outbox rows wait for this person's next message
    registered_at     INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (platform, platform_user_id)
);
CREATE UNIQUE INDEX identities_one_account_per_platform
    ON identities (platform, staff_id) WHERE staff_id IS NOT NULL;

-- Every signed webhook event, stored before the 200 and processed afterwards.
CREATE TABLE inbox_events (
    id               INTEGER PRIMARY KEY,
    platform         TEXT    NOT NULL,
    dedup_key        TEXT    NOT NULL,                 -- msg_id / mid, or a hash of the event
    sender_id        TEXT    NOT NULL,
    event_kind       TEXT    NOT NULL,                 -- message, follow, echo, receipt, …
    event_name       TEXT    NOT NULL,                 -- the platform's name for it
    payload          TEXT    NOT NULL,
    received_at      INTEGER NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'done', 'ignored', 'parked')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    lease_until      INTEGER,
    lease_owner      TEXT,
    last_error       TEXT,
    processed_at     INTEGER,
    UNIQUE (platform, dedup_key)
);
-- Claims scan pending events in arrival order and check each sender's older events.
CREATE INDEX inbox_events_pending ON inbox_events (state, id);
CREATE INDEX inbox_events_queue ON inbox_events (state, platform, sender_id, id);

CREATE TABLE submissions (
    id              INTEGER PRIMARY KEY,
    staff_id        INTEGER REFERENCES staff (id),     -- NULL until the sender registers
    identity_id     INTEGER NOT NULL REFERENCES identities (id),
    inbox_event_id  INTEGER REFERENCES inbox_events (id),
    received_at     INTEGER NOT NULL,
    week            TEXT    NOT NULL,
    raw_url         TEXT    NOT NULL,
    canonical_key   TEXT    NOT NULL,
    key_state       TEXT    NOT NULL DEFAULT 'final'
                    CHECK (key_state IN ('final', 'provisional', 'unresolvable')),
    link_platform   TEXT    NOT NULL,
    link_kind       TEXT    NOT NULL,
    owner           TEXT,
    page_unit_id    INTEGER REFERENCES units (id),     -- the unit credited when this is its page's post
    status          TEXT    NOT NULL
                    CHECK (status IN ('counted', 'duplicate', 'pending_registration',
                                      'withdrawn', 'expired', 'merged')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX submissions_counted_once
    ON submissions (staff_id, canonical_key) WHERE status = 'counted';
CREATE INDEX submissions_week ON submissions (week, staff_id);
CREATE INDEX submissions_identity ON submissions (identity_id, status);

-- A page post counts once for its unit, in the week it was first received.
CREATE TABLE unit_page_posts (
    id             INTEGER PRIMARY KEY,
    unit_id        INTEGER NOT NULL REFERENCES units (id),
    canonical_key  TEXT    NOT NULL,
    submission_id  INTEGER NOT NULL REFERENCES submissions (id),
    week           TEXT    NOT NULL,
    received_at    INTEGER NOT NULL,
    UNIQUE (unit_id, canonical_key)
);
CREATE INDEX unit_page_posts_week ON unit_page_posts (week, unit_id);

-- Every message the bot sends; the delivery worker leases rows and records the outcome.
CREATE TABLE outbox (
    id                   INTEGER PRIMARY KEY,
    idempotency_key      TEXT    NOT NULL UNIQUE,
    platform             TEXT    NOT NULL,
    recipient_id         TEXT    NOT NULL,
    identity_id          INTEGER REFERENCES identities (id),
    purpose              TEXT    NOT NULL,             -- reply, reminder, announcement, …
    messaging_type       TEXT    NOT NULL DEFAULT 'RESPONSE',
    body                 TEXT    NOT NULL,
    state                TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'sent', 'held', 'failed')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      INTEGER NOT NULL DEFAULT 0,
    lease_until          INTEGER,
    lease_owner          TEXT,
    sending_since        INTEGER,                      -- set before the HTTP call: in doubt if the lease lapses
    relevant_until       INTEGER,                      -- a held message after this is dropped
    platform_message_id  TEXT,
    last_error           TEXT,
    created_at           INTEGER NOT NULL,
    sent_at              INTEGER
);
CREATE INDEX outbox_due ON outbox (state, id);
CREATE INDEX outbox_recipient ON outbox (state, platform, recipient_id, id);
CREATE INDEX outbox_identity ON outbox (identity_id, state);

-- One row per scheduled job and period: the unique key is what stops a second run.
CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY,
    job          TEXT    NOT NULL,
    period       TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    owner        TEXT,
    detail       TEXT,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    UNIQUE (job, period)
);

CREATE TABLE featured_pages (
    id                  INTEGER PRIMARY KEY,
    week                TEXT    NOT NULL,
    unit_id             INTEGER NOT NULL REFERENCES units (id),
    source              TEXT    NOT NULL CHECK (source IN ('suggested', 'chosen')),
    position            INTEGER NOT NULL,
    reason              TEXT,
    chosen_by_staff_id  INTEGER REFERENCES staff (id),
    created_at          INTEGER NOT NULL,
    UNIQUE (week, source, unit_id)
);

-- Zalo's access/refresh pair rotates; the lease serializes refreshes across instances.
CREATE TABLE platform_tokens (
    platform             TEXT    PRIMARY KEY,
    access_token         TEXT,
    refresh_token        TEXT,
    access_expires_at    INTEGER,
    refreshed_at         INTEGER,
    refresh_lease_until  INTEGER,
    refresh_lease_owner  TEXT,
    last_error           TEXT,
    updated_at           INTEGER NOT NULL
);
