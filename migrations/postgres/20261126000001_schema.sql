-- The whole product's schema. Times are epoch milliseconds (UTC); weeks are ISO weeks
-- written '2025-W12'; flags are 0/1 integers so that one query text serves SQLite and
-- PostgreSQL through sqlx's Any driver.

CREATE TABLE units (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code          TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('so', 'phong', 'truong')),
    parent_id     BIGINT REFERENCES units (id),
    page_urls     TEXT    NOT NULL DEFAULT '',          -- as imported, ';'-separated
    weekly_quota  BIGINT,                              -- NULL: the kind's default
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX units_parent ON units (parent_id);

-- One row per page URL of a unit; `owner` is the canonical owner a post's owner is matched against.
CREATE TABLE unit_pages (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id  BIGINT NOT NULL REFERENCES units (id),
    url      TEXT    NOT NULL,
    owner    TEXT,
    UNIQUE (unit_id, url)
);
CREATE INDEX unit_pages_owner ON unit_pages (owner);

CREATE TABLE staff (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,               -- the registration code people send
    full_name   TEXT    NOT NULL,
    unit_id     BIGINT NOT NULL REFERENCES units (id),
    role        TEXT    NOT NULL CHECK (role IN ('member', 'head', 'admin')),
    phone       TEXT,                                  -- normalized 84…
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX staff_unit ON staff (unit_id);

-- A chat account on one platform; linked to a staff member once registered.
CREATE TABLE identities (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform          TEXT    NOT NULL CHECK (platform IN ('zalo', 'messenger')),
    platform_user_id  TEXT    NOT NULL,
    staff_id          BIGINT REFERENCES staff (id),
    display_name      TEXT,
    followed          BIGINT NOT NULL DEFAULT 0,
    reachable         BIGINT NOT NULL DEFAULT 1,
    last_inbound_at   BIGINT,                      -- opens the platform's messaging window
    last_seen_at      BIGINT,                      -- any event, receipts included
    has_held          BIGINT NOT NULL DEFAULT 0,       -- outbox rows wait for this person's next message
    registered_at     BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (platform, platform_user_id)
);
CREATE UNIQUE INDEX identities_one_account_per_platform
    ON identities (platform, staff_id) WHERE staff_id IS NOT NULL;

-- Every signed webhook event, stored before the 200 and processed afterwards.
CREATE TABLE inbox_events (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform         TEXT    NOT NULL,
    dedup_key        TEXT    NOT NULL,                 -- msg_id / mid, or a hash of the event
    sender_id        TEXT    NOT NULL,
    event_kind       TEXT    NOT NULL,                 -- message, follow, echo, receipt, …
    event_name       TEXT    NOT NULL,                 -- the platform's name for it
    payload          TEXT    NOT NULL,
    received_at      BIGINT NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'done', 'ignored', 'parked')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL DEFAULT 0,
    lease_until      BIGINT,
    lease_owner      TEXT,
    last_error       TEXT,
    processed_at     BIGINT,
    UNIQUE (platform, dedup_key)
);
-- Claims scan pending events in arrival order and check each sender's older events.
CREATE INDEX inbox_events_pending ON inbox_events (state, id);
CREATE INDEX inbox_events_queue ON inbox_events (state, platform, sender_id, id);

CREATE TABLE submissions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id        BIGINT REFERENCES staff (id),     -- NULL until the sender registers
    identity_id     BIGINT NOT NULL REFERENCES identities (id),
    inbox_event_id  BIGINT REFERENCES inbox_events (id),
    received_at     BIGINT NOT NULL,
    week            TEXT    NOT NULL,
    raw_url         TEXT    NOT NULL,
    canonical_key   TEXT    NOT NULL,
    key_state       TEXT    NOT NULL DEFAULT 'final'
                    CHECK (key_state IN ('final', 'provisional', 'unresolvable')),
    link_platform   TEXT    NOT NULL,
    link_kind       TEXT    NOT NULL,
    owner           TEXT,
    page_unit_id    BIGINT REFERENCES units (id),     -- the unit credited when this is its page's post
    status          TEXT    NOT NULL
                    CHECK (status IN ('counted', 'duplicate', 'pending_registration',
                                      'withdrawn', 'expired', 'merged')),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX submissions_counted_once
    ON submissions (staff_id, canonical_key) WHERE status = 'counted';
CREATE INDEX submissions_week ON submissions (week, staff_id);
CREATE INDEX submissions_identity ON submissions (identity_id, status);

-- A page post counts once for its unit, in the week it was first received.
CREATE TABLE unit_page_posts (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id        BIGINT NOT NULL REFERENCES units (id),
    canonical_key  TEXT    NOT NULL,
    submission_id  BIGINT NOT NULL REFERENCES submissions (id),
    week           TEXT    NOT NULL,
    received_at    BIGINT NOT NULL,
    UNIQUE (unit_id, canonical_key)
);
CREATE INDEX unit_page_posts_week ON unit_page_posts (week, unit_id);

-- Every message the bot sends; the delivery worker leases rows and records the outcome.
CREATE TABLE outbox (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key      TEXT    NOT NULL UNIQUE,
    platform             TEXT    NOT NULL,
    recipient_id         TEXT    NOT NULL,
    identity_id          BIGINT REFERENCES identities (id),
    purpose              TEXT    NOT NULL,             -- reply, reminder, announcement, …
    messaging_type       TEXT    NOT NULL DEFAULT 'RESPONSE',
    body                 TEXT    NOT NULL,
    state                TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'sent', 'held', 'failed')),
    attempts             BIGINT NOT NULL DEFAULT 0,
    next_attempt_at      BIGINT NOT NULL DEFAULT 0,
    lease_until          BIGINT,
    lease_owner          TEXT,
    sending_since        BIGINT,                       -- set before the HTTP call: in doubt if the lease lapses
    relevant_until       BIGINT,                      -- a held message after this is dropped
    platform_message_id  TEXT,
    last_error           TEXT,
    created_at           BIGINT NOT NULL,
    sent_at              BIGINT
);
CREATE INDEX outbox_due ON outbox (state, id);
CREATE INDEX outbox_recipient ON outbox (state, platform, recipient_id, id);
CREATE INDEX outbox_identity ON outbox (identity_id, state);

-- One row per scheduled job and period: the unique key is what stops a second run.
CREATE TABLE job_runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job          TEXT    NOT NULL,
    period       TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    owner        TEXT,
    detail       TEXT,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    UNIQUE (job, period)
);

CREATE TABLE featured_pages (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    week                TEXT    NOT NULL,
    unit_id             BIGINT NOT NULL REFERENCES units (id),
    source              TEXT    NOT NULL CHECK (source IN ('suggested', 'chosen')),
    position            BIGINT NOT NULL,
    reason              TEXT,
    chosen_by_staff_id  BIGINT REFERENCES staff (id),
    created_at          BIGINT NOT NULL,
    UNIQUE (week, source, unit_id)
);

-- Zalo's access/refresh pair rotates; the lease serializes refreshes across instances.
CREATE TABLE platform_tokens (
    platform             TEXT    PRIMARY KEY,
    access_token         TEXT,
    refresh_token        TEXT,
    access_expires_at    BIGINT,
    refreshed_at         BIGINT,
    refresh_lease_until  BIGINT,
    refresh_lease_owner  TEXT,
    last_error           TEXT,
    updated_at           BIGINT NOT NULL
);
