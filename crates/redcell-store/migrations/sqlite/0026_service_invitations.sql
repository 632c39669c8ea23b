-- Members invited to a service post by staff (suggested by their skills and
-- interests); the member accepts (which claims the post) or declines.
CREATE TABLE service_invitations (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    post_id       BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    state         TEXT NOT NULL,
    invited_by    BIGINT NOT NULL,
    answered_at   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_invitations_member ON service_invitations (tenant_id, member_id, state);
CREATE INDEX service_invitations_post ON service_invitations (tenant_id, post_id);
