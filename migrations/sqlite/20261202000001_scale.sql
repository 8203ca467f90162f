-- Indexes for a province: 50,000 staff and two million links a year.

-- "Registered" in the standings: a person's accounts, looked up by person.
CREATE INDEX identities_staff ON identities (staff_id);

-- The standings read a period's links by week; with status and page unit in the index they
-- never touch the table. TK (a person's week) uses the same index.
DROP INDEX submissions_week;
CREATE INDEX submissions_week ON submissions (week, staff_id, status, page_unit_id);

-- HUY moves or drops the page-post credit of the submission withdrawn.
CREATE INDEX unit_page_posts_submission ON unit_page_posts (submission_id);

-- Pruning sent and failed messages after the retention period.
CREATE INDEX outbox_created ON outbox (created_at);
