-- One page, one connection: two units connected to one page would count every post twice.
-- `lantoa pages connect` refuses a page another active unit has; this holds it when two
-- connects run at once on PostgreSQL.
CREATE UNIQUE INDEX page_connections_page ON page_connections (page_id) WHERE page_id IS NOT NULL;
