-- Per-tenant settings of transfers: how many days an introduction letter
-- (介绍信) is valid (at most three months; 90 while no row exists).
CREATE TABLE mobility_settings (
    tenant_id      BIGINT NOT NULL PRIMARY KEY,
    letter_days    BIGINT NOT NULL,
    updated_by     BIGINT,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- An organisation declining to receive a member who carries an outflow card
-- of this deployment (流入地不接收), with its reason: the sending side sees it
-- on the outflow card and looks for another way to keep the member in touch.
CREATE TABLE mobility_refusals (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    -- The organisation declining.
    org_id         BIGINT NOT NULL,
    -- The outflow card presented.
    card_id        BIGINT NOT NULL,
    member_id      BIGINT NOT NULL,
    refused_on     DATE NOT NULL,
    reason         TEXT NOT NULL,
    created_by     BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX mobility_refusals_card ON mobility_refusals (tenant_id, card_id);
CREATE INDEX mobility_refusals_org ON mobility_refusals (tenant_id, org_id);

-- The member's name when the transfer began: a member transferred out of the
-- deployment leaves the registry, and the transfer still says who it was.
ALTER TABLE org_transfers ADD COLUMN member_name TEXT;
