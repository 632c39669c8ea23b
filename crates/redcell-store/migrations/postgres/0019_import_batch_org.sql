-- The organisation an import batch belongs to: the lowest organisation
-- holding every row the batch created or changed. Batches are listed and
-- undone inside the caller's scope by it. Batches from before this column
-- belong to the tenant's root (seen by callers over the whole tenant).
ALTER TABLE import_batches ADD COLUMN org_id BIGINT NOT NULL DEFAULT 0;
UPDATE import_batches SET org_id = tenant_id WHERE org_id = 0;
CREATE INDEX import_batches_org ON import_batches (tenant_id, org_id, id);
