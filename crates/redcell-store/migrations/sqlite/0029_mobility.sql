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

-- Organisation-relation transfers (组织关系转接): from the member's organisation
-- to another inside the deployment (to_org_id) or outside it (to_outside),
-- approved step by step up to the common ancestor, then received. The
-- member's organisation changes only on receipt.
CREATE TABLE org_transfers (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    -- The sending organisation (the member's when the transfer began).
    org_id         BIGINT NOT NULL,
    member_id      BIGINT NOT NULL,
    to_org_id      BIGINT,
    to_outside     TEXT,
    reason         TEXT NOT NULL,
    state          TEXT NOT NULL,
    -- The organisations that approve, nearest first (ids, comma-separated), and how many have.
    chain          TEXT NOT NULL,
    approved_steps BIGINT NOT NULL,
    letter_no      TEXT,
    letter_on      DATE,
    valid_until    DATE,
    received_on    DATE,
    -- Why it was refused (at a step or by the receiving organisation), or revoked.
    closed_reason  TEXT,
    created_by     BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX org_transfers_org ON org_transfers (tenant_id, org_id);
CREATE INDEX org_transfers_to ON org_transfers (tenant_id, to_org_id);
CREATE INDEX org_transfers_member ON org_transfers (tenant_id, member_id);

CREATE TABLE org_transfer_steps (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    transfer_id    BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    decision       TEXT NOT NULL,
    reason         TEXT,
    decided_by     BIGINT NOT NULL,
    decided_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX org_transfer_steps_transfer ON org_transfer_steps (tenant_id, transfer_id);

-- Proposals about a member out of contact (停止党籍, then 除名), made and
-- decided by people; the system only says when one is due.
CREATE TABLE membership_proposals (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    member_id      BIGINT NOT NULL,
    card_id        BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    proposed_on    DATE NOT NULL,
    proposed_by    BIGINT NOT NULL,
    decision       TEXT,
    decided_on     DATE,
    decided_by     BIGINT,
    decision_note  TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX membership_proposals_member ON membership_proposals (tenant_id, member_id);
CREATE INDEX membership_proposals_org ON membership_proposals (tenant_id, org_id);
