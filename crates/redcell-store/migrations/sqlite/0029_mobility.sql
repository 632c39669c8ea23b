-- Mobile members (流动党员): the outflow and inflow registration cards a
-- branch keeps (流出/流入登记卡) and the contact kept while a member is away.
-- A member's standing and roster (自管, 在职, 流动) are derived from these and
-- the in-service reports, never stored.
CREATE TABLE mobility_cards (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    -- The organisation keeping the card: the member's own for an outflow,
    -- the receiving one for an inflow.
    org_id         BIGINT NOT NULL,
    member_id      BIGINT NOT NULL,
    direction      TEXT NOT NULL,
    card_no        TEXT NOT NULL,
    -- Where the member went (outflow) or came from (inflow).
    place          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    started_on     DATE NOT NULL,
    expected_until DATE,
    -- How to reach them (phone, chat group ...).
    channel        TEXT NOT NULL,
    -- The receiving (outflow) or sending (inflow) organisation, if known.
    other_org      TEXT,
    -- An inflow card received for another organisation's outflow card.
    paired_id      BIGINT,
    ended_on       DATE,
    end_reason     TEXT,
    created_by     BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX mobility_cards_no ON mobility_cards (tenant_id, card_no);
CREATE INDEX mobility_cards_org ON mobility_cards (tenant_id, org_id);
CREATE INDEX mobility_cards_member ON mobility_cards (tenant_id, member_id);

CREATE TABLE mobility_contacts (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    card_id        BIGINT NOT NULL,
    member_id      BIGINT NOT NULL,
    on_date        DATE NOT NULL,
    channel        TEXT NOT NULL,
    note           TEXT NOT NULL,
    recorded_by    BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX mobility_contacts_card ON mobility_contacts (tenant_id, card_id);
