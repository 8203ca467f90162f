-- The dashboard (issue 12). Tokens are kept as SHA-256 hashes only. (The chat reply that
-- carries a login link sits in the outbox until it is sent; the link is spent after one use
-- and dead after 15 minutes.)
-- A one-time login link: sent by `WEB` or printed by `lantoa login-link`; 15 minutes, once.
CREATE TABLE web_login_links (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    staff_id    BIGINT  NOT NULL REFERENCES staff (id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
-- A browser session, shared by every instance; it ends after 8 idle hours or at logout.
CREATE TABLE web_sessions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    TEXT    NOT NULL UNIQUE,
    staff_id      BIGINT  NOT NULL REFERENCES staff (id),
    csrf_token    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX web_sessions_staff ON web_sessions (staff_id);
-- A roster file uploaded in the browser, kept between its preview and its import.
CREATE TABLE web_uploads (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  BIGINT  NOT NULL REFERENCES web_sessions (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('units', 'staff')),
    file_name   TEXT    NOT NULL,
    content     BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL,
    applied_at  BIGINT
);
