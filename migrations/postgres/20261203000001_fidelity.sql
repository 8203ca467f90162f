-- Counting fidelity (issue 10).
-- A page known by its slug in `page_urls` and seen in a post URL under its numeric id: the id
-- is an alias of the slug, learned from a post seen under both.
CREATE TABLE owner_aliases (
    alias             TEXT    PRIMARY KEY,            -- the numeric page id
    owner             TEXT    NOT NULL,               -- the slug a unit's page_urls name
    learned_from_key  TEXT    NOT NULL,               -- the post seen under both
    learned_at        BIGINT  NOT NULL
);
-- Other submissions of one post (the alias lookup reads them by key).
CREATE INDEX submissions_key_owner ON submissions (canonical_key, owner);
-- A unit website's article checked before it counts: 'ok', 'timeout' (counted, flagged in
-- the evidence), 'missing' (404/410: not counted); NULL when nothing was checked.
ALTER TABLE submissions ADD COLUMN page_check TEXT;
CREATE INDEX submissions_page_check_pending ON submissions (id) WHERE page_check = 'pending';
-- The week's shares of the featured pages: read from the featured units' page posts, not
-- by walking every person (146 ms → under 1 ms for a province's week).
CREATE INDEX submissions_page_unit ON submissions (page_unit_id, week) WHERE page_unit_id IS NOT NULL;
-- The heads and admins of the standings (2,000 of 50,000 people): 53 ms → 5 ms.
CREATE INDEX staff_leaders ON staff (code) WHERE role IN ('head', 'admin');
