//! Roles granted on an organisation (reaching its subtree) and what they may do.

use crate::code_enum;

code_enum!(Role {
    Admin = "admin": "系统管理员",
    Auditor = "auditor": "审计员",
    OrgAdmin = "org_admin": "组织管理员",
    Secretary = "secretary": "书记/委员",
    GridWorker = "grid_worker": "网格员",
    Cadre = "cadre": "驻格干部",
    Member = "member": "党员",
    Resident = "resident": "居民",
});

/// What a role may do inside the subtree of the organisation it is granted on.
/// Every service entry point names the capability it needs; the caller's
/// scope for that capability is the set of subtrees where they hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Read the registry (organisations, grids, households, people), masked.
    ReadRegistry,
    /// Create, change and delete registry rows; import rosters; configure the
    /// network (contacts, quotas, exemptions, plans, posts) and, on the
    /// tenant's root, its settings (holidays, categories, duty rules).
    EditRegistry,
    /// See a clear ID number or phone (each reveal is audited).
    RevealPersonal,
    /// Export lists (each export is audited).
    Export,
    /// Create, disable and reset accounts; grant roles below one's own.
    ManageUsers,
    /// Read the audit trail.
    ReadAudit,
    /// Work on resident requests as staff: register, triage, assign, handle,
    /// and be assigned a request.
    HandleRequests,
    /// Record visits by anyone of the organisation, meetings and activities.
    RecordDuties,
    /// Record one's own visits (the person linked to the account is the visitor).
    RecordOwnVisits,
    /// Claim requests open for claiming (micro-wishes) and complete them.
    ClaimRequests,
    /// Assess organisations: score one's own organisation (self-assessment)
    /// and review, publish and finalise the assessments of those below.
    Assess,
}

impl Capability {
    pub const ALL: &'static [Capability] = &[
        Capability::ReadRegistry,
        Capability::EditRegistry,
        Capability::RevealPersonal,
        Capability::Export,
        Capability::ManageUsers,
        Capability::ReadAudit,
        Capability::HandleRequests,
        Capability::RecordDuties,
        Capability::RecordOwnVisits,
        Capability::ClaimRequests,
        Capability::Assess,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Capability::ReadRegistry => "查看名册（脱敏）",
            Capability::EditRegistry => "维护名册",
            Capability::RevealPersonal => "查看完整证件号/电话",
            Capability::Export => "导出",
            Capability::ManageUsers => "管理账号",
            Capability::ReadAudit => "查阅审计日志",
            Capability::HandleRequests => "办理民情诉求",
            Capability::RecordDuties => "登记走访、会议和活动",
            Capability::RecordOwnVisits => "登记本人走访",
            Capability::ClaimRequests => "认领微心愿",
            Capability::Assess => "考评打分",
        }
    }
}

impl Role {
    /// The one role × capability table. Separation of duties: the system
    /// administrator cannot read (or change) the audit trail, the auditor can
    /// read it and change nothing; a stationed cadre reads and records their
    /// own visits; members claim micro-wishes and record their own visits to
    /// the households they look after; residents hold no capability.
    pub fn can(self, cap: Capability) -> bool {
        use Capability::*;
        match self {
            Role::Admin | Role::OrgAdmin => matches!(
                cap,
                ReadRegistry
                    | EditRegistry
                    | RevealPersonal
                    | Export
                    | ManageUsers
                    | HandleRequests
                    | RecordDuties
                    | Assess
            ),
            Role::Auditor => matches!(cap, ReadAudit | ReadRegistry),
            Role::Secretary => {
                matches!(
                    cap,
                    ReadRegistry | EditRegistry | RevealPersonal | Export | HandleRequests | RecordDuties | Assess
                )
            }
            Role::GridWorker => {
                matches!(cap, ReadRegistry | EditRegistry | RevealPersonal | HandleRequests | RecordDuties)
            }
            Role::Cadre => matches!(cap, ReadRegistry | RevealPersonal | RecordOwnVisits),
            Role::Member => matches!(cap, ClaimRequests | RecordOwnVisits),
            Role::Resident => false,
        }
    }
    /// Roles an account manager holding `self` may grant: never a role with
    /// more power than their own, and never the auditor (separation of duties:
    /// only a system administrator appoints auditors).
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::Admin => true,
            Role::OrgAdmin => !matches!(other, Role::Admin | Role::Auditor),
            _ => false,
        }
    }
}

/// Password policy: at least 10 characters with a letter and a digit.
pub fn password_acceptable(pw: &str) -> bool {
    pw.chars().count() >= 10 && pw.chars().any(|c| c.is_alphabetic()) && pw.chars().any(|c| c.is_ascii_digit())
}

/// Usernames: 3–32 of ASCII letters, digits, `.`, `-`, `_`.
pub fn username_acceptable(u: &str) -> bool {
    (3..=32).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn policy() {
        assert!(password_acceptable("abcdef1234"));
        assert!(!password_acceptable("short1"));
        assert!(!password_acceptable("onlyletters"));
        assert!(username_acceptable("admin"));
        assert!(!username_acceptable("a b"));
        assert!(Role::Admin.can(Capability::EditRegistry));
        assert!(!Role::Auditor.can(Capability::EditRegistry));
        assert!(!Role::Admin.can(Capability::ReadAudit));
        assert!(Role::Auditor.can(Capability::ReadAudit));
        assert!(Role::Cadre.can(Capability::RecordOwnVisits) && !Role::Cadre.can(Capability::RecordDuties));
        assert!(Role::Member.can(Capability::ClaimRequests) && !Role::Member.can(Capability::ReadRegistry));
        for c in Capability::ALL {
            assert!(!Role::Resident.can(*c));
            if *c != Capability::ReadAudit && *c != Capability::ReadRegistry {
                assert!(!Role::Auditor.can(*c), "auditor must change nothing: {c:?}");
            }
        }
        assert!(Role::OrgAdmin.may_grant(Role::Secretary));
        assert!(!Role::OrgAdmin.may_grant(Role::Admin));
        assert!(!Role::Secretary.may_grant(Role::Member));
    }
}
