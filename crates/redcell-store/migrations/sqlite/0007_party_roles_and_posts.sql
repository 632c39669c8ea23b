-- Coverage, second part (SQLite). Keep in step with ../postgres/0007_coverage2.sql.

-- A member's role that carries a contact quota (党小组长, 支部委员, 总支委员):
-- everyone holding it is judged against the quota, contacts or not.
ALTER TABLE members ADD COLUMN party_role TEXT;
CREATE INDEX members_party_role ON members (tenant_id, party_role) WHERE party_role IS NOT NULL;

-- Party-member demonstration posts (党员示范岗): a post held by a member in a
-- grid, optionally at a unit (shop, facility, enterprise), from `since` until
-- `until` (NULL: still held). `org_id` is the grid's organisation (scope).
-- No foreign key to members: the history outlives a removed member.
CREATE TABLE demo_posts (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    grid_id       BIGINT NOT NULL REFERENCES grids(id),
    unit_id       BIGINT REFERENCES units(id),
    member_id     BIGINT NOT NULL,
    name          TEXT NOT NULL,
    since         DATE NOT NULL,
    until         DATE,
    note          TEXT,
    end_reason    TEXT,
    created_by    BIGINT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CHECK (until IS NULL OR until >= since)
);
CREATE INDEX demo_posts_grid ON demo_posts (tenant_id, grid_id);
CREATE INDEX demo_posts_org ON demo_posts (tenant_id, org_id);
CREATE INDEX demo_posts_member ON demo_posts (tenant_id, member_id);

-- Quotas that are not one contact level.
ALTER TABLE quota_rules ADD COLUMN leader_branch_min BIGINT;
ALTER TABLE quota_rules ADD COLUMN leader_branch_max BIGINT;
ALTER TABLE quota_rules ADD COLUMN households_per_central_min BIGINT;
ALTER TABLE quota_rules ADD COLUMN households_per_central_max BIGINT;

-- A 党小组长 may look after a member (中心户) and a post with the same id.
DROP INDEX contacts_once;
CREATE UNIQUE INDEX contacts_once ON contacts (tenant_id, level, from_id, to_kind, to_id) WHERE until IS NULL;

-- Active contacts per person responsible and level, kept by triggers in the
-- transaction of every contact event (start, end, removal), so the report
-- reads one small row per person instead of counting contacts.
CREATE TABLE contact_counts (
    tenant_id     BIGINT NOT NULL,
    level         TEXT NOT NULL,
    from_id       BIGINT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, level, from_id)
);
INSERT INTO contact_counts (tenant_id, level, from_id, n)
    SELECT tenant_id, level, from_id, COUNT(*) FROM contacts WHERE until IS NULL GROUP BY tenant_id, level, from_id;

CREATE TRIGGER contacts_count_start AFTER INSERT ON contacts WHEN NEW.until IS NULL
BEGIN
    INSERT INTO contact_counts (tenant_id, level, from_id, n) VALUES (NEW.tenant_id, NEW.level, NEW.from_id, 1)
        ON CONFLICT (tenant_id, level, from_id) DO UPDATE SET n = contact_counts.n + 1;
END;
CREATE TRIGGER contacts_count_end AFTER UPDATE OF until ON contacts WHEN OLD.until IS NULL AND NEW.until IS NOT NULL
BEGIN
    UPDATE contact_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND level = OLD.level AND from_id = OLD.from_id;
END;
CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts WHEN OLD.until IS NULL
BEGIN
    UPDATE contact_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND level = OLD.level AND from_id = OLD.from_id;
END;

-- Index-driven gap lists and counts on the whole street.
CREATE INDEX households_tags ON households (tenant_id, tags) WHERE tags <> 0;
CREATE INDEX members_central ON members (tenant_id, org_id) WHERE central_household = TRUE;
