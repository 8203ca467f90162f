-- Reach (issue 22): a message the bot starts climbs down a ladder of rungs (chat inside the
-- window, Zalo templates by user id and by phone, a Messenger utility template, email) until
-- one delivers; what none delivers is held for the person's next message.

-- A person's addresses beyond chat, and their choice.
ALTER TABLE staff ADD COLUMN email TEXT;
-- The relay refused the address for good (550 5.1.1): not used until the roster changes it.
ALTER TABLE staff ADD COLUMN email_bounced_at INTEGER;
ALTER TABLE staff ADD COLUMN email_bounce TEXT;
-- `TAT EMAIL`: no email and no paid template to this person (`BAT EMAIL` clears it).
ALTER TABLE staff ADD COLUMN reach_opt_out INTEGER NOT NULL DEFAULT 0;

-- A message with a kind climbs its ladder; a reply (no kind) goes by chat or waits.
ALTER TABLE outbox ADD COLUMN staff_id INTEGER REFERENCES staff (id);
ALTER TABLE outbox ADD COLUMN kind TEXT;
-- The rungs to try, comma-separated, and the index of the next one.
ALTER TABLE outbox ADD COLUMN ladder TEXT;
ALTER TABLE outbox ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
-- What a paid template may carry (JSON: figure → value; never a name), and an email's subject.
ALTER TABLE outbox ADD COLUMN figures TEXT;
ALTER TABLE outbox ADD COLUMN subject TEXT;
-- The rung a send was under way on when `sending_since` was set (what a crash leaves in doubt).
ALTER TABLE outbox ADD COLUMN sending_rung TEXT;
ALTER TABLE outbox ADD COLUMN delivered_by TEXT;
-- Zalo's `tracking_id` of a template send: how a receipt finds a message a crash left in doubt.
ALTER TABLE outbox ADD COLUMN tracking_id TEXT;
-- Zalo's delivery receipt (user_received_message from ZNS).
ALTER TABLE outbox ADD COLUMN delivered_at INTEGER;
ALTER TABLE outbox ADD COLUMN cost_vnd INTEGER NOT NULL DEFAULT 0;
-- A paid template whose outcome a crash hid: never sent again, shown to the Văn phòng.
ALTER TABLE outbox ADD COLUMN in_doubt INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_platform_message ON outbox (platform_message_id);
CREATE INDEX outbox_tracking ON outbox (tracking_id);
CREATE INDEX outbox_delivered ON outbox (delivered_at);
CREATE INDEX outbox_staff ON outbox (staff_id, state);

-- Every rung tried or passed for a message, and what it came to.
CREATE TABLE reach_attempts (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL REFERENCES outbox (id),
    staff_id    INTEGER REFERENCES staff (id),
    kind        TEXT    NOT NULL,
    rung        TEXT    NOT NULL,
    result      TEXT    NOT NULL
                CHECK (result IN ('sent', 'skipped', 'failed', 'retry', 'deferred', 'in_doubt')),
    why         TEXT,
    detail      TEXT,
    message_id  TEXT,
    cost_vnd    INTEGER NOT NULL DEFAULT 0,
    at          INTEGER NOT NULL
);
CREATE INDEX reach_attempts_outbox ON reach_attempts (outbox_id);
CREATE INDEX reach_attempts_at ON reach_attempts (at);

-- What paid templates cost in an ISO week: reserved before a send, given back when nothing
-- was delivered. The budget is checked in the same statement that reserves.
CREATE TABLE reach_spend (
    week       TEXT    PRIMARY KEY,
    spent_vnd  INTEGER NOT NULL DEFAULT 0
);

-- A rung stopped for everyone (a token, the balance, a template not approved, the relay
-- refusing our login, a daily limit) or a template that failed its check at start-up.
CREATE TABLE reach_alerts (
    alert_key  TEXT    PRIMARY KEY,
    rung       TEXT    NOT NULL,
    problem    TEXT    NOT NULL,
    -- 1: the rung is not tried until `until_at`; 0: shown only.
    stopped    INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    until_at   INTEGER
);

-- The serving instances, each beating every second: the leases of one that stopped beating
-- (or of an earlier process on this host that is gone) are released at once.
CREATE TABLE instances (
    name          TEXT    PRIMARY KEY,
    host          TEXT    NOT NULL,
    pid           INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL
);
