-- Pages measured through the Graph API (issue 13): a unit's connected page, the posts read
-- from it, and its follower count once a day. A unit's page posts (unit_page_posts) may now
-- come from a submission, from the page's own feed, or from both.

-- A unit's Facebook page, read with a page access token. The token itself is a row of
-- platform_tokens (`token_key`); NULL means the Messenger page token (MESSENGER_PAGE_ACCESS_TOKEN).
CREATE TABLE page_connections (
    unit_id          INTEGER PRIMARY KEY REFERENCES units (id),
    token_key        TEXT,
    page_id          TEXT,
    page_name        TEXT,
    connected_at     INTEGER NOT NULL,
    -- Where the first successful sync started reading: measured figures cover no earlier day.
    covered_from     INTEGER,
    -- When the last successful sync started: the next one reads the posts from here on.
    synced_from      INTEGER,
    last_synced_at   INTEGER,
    last_attempt_at  INTEGER,
    error_kind       TEXT CHECK (error_kind IN ('token', 'permission', 'rate_limit', 'unavailable', 'other')),
    last_error       TEXT,
    failures         INTEGER NOT NULL DEFAULT 0,
    retry_at         INTEGER
);

-- A post read from a connected page, with its engagement at the last read.
CREATE TABLE page_feed_posts (
    id             INTEGER PRIMARY KEY,
    unit_id        INTEGER NOT NULL REFERENCES units (id),
    post_id        TEXT    NOT NULL,
    canonical_key  TEXT    NOT NULL,
    -- The key of the permalink when it names the post another way (pfbid…, a photo).
    permalink_key  TEXT,
    permalink      TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('post', 'share')),
    created_at     INTEGER NOT NULL,
    week           TEXT    NOT NULL,
    shares         INTEGER NOT NULL DEFAULT 0,
    reactions      INTEGER NOT NULL DEFAULT 0,
    comments       INTEGER NOT NULL DEFAULT 0,
    first_read_at  INTEGER NOT NULL,
    last_read_at   INTEGER NOT NULL,
    UNIQUE (unit_id, post_id)
);
CREATE INDEX page_feed_posts_key ON page_feed_posts (canonical_key);
CREATE INDEX page_feed_posts_permalink_key ON page_feed_posts (permalink_key);
CREATE INDEX page_feed_posts_created ON page_feed_posts (unit_id, created_at);

-- A connected page's follower count, one snapshot per local day (the last read of the day).
CREATE TABLE page_follower_counts (
    unit_id    INTEGER NOT NULL REFERENCES units (id),
    day        TEXT    NOT NULL,
    followers  INTEGER NOT NULL,
    read_at    INTEGER NOT NULL,
    PRIMARY KEY (unit_id, day)
);

-- A page post is now evidenced by a submission, a measured post, or both. SQLite cannot drop
-- a NOT NULL, so the table is rebuilt (nothing references it).
CREATE TABLE unit_page_posts_new (
    id             INTEGER PRIMARY KEY,
    unit_id        INTEGER NOT NULL REFERENCES units (id),
    canonical_key  TEXT    NOT NULL,
    submission_id  INTEGER REFERENCES submissions (id),
    feed_post_id   INTEGER REFERENCES page_feed_posts (id),
    week           TEXT    NOT NULL,
    received_at    INTEGER NOT NULL,
    UNIQUE (unit_id, canonical_key),
    CHECK (submission_id IS NOT NULL OR feed_post_id IS NOT NULL)
);
INSERT INTO unit_page_posts_new (id, unit_id, canonical_key, submission_id, week, received_at)
    SELECT id, unit_id, canonical_key, submission_id, week, received_at FROM unit_page_posts;
DROP TABLE unit_page_posts;
ALTER TABLE unit_page_posts_new RENAME TO unit_page_posts;
CREATE INDEX unit_page_posts_week ON unit_page_posts (week, unit_id);
CREATE INDEX unit_page_posts_submission ON unit_page_posts (submission_id);
CREATE INDEX unit_page_posts_feed_post ON unit_page_posts (feed_post_id);
