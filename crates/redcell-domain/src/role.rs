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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Read the registry (organisations, grids, households, people), masked.
    ReadRegistry,
    /// Create, change and delete registry rows.
    EditRegistry,
    /// See a clear ID number or phone (each reveal is audited).
    RevealPersonal,
    /// Export lists (each export is audited).
    Export,
    /// Create, disable and reset accounts; grant roles below one's own.
    ManageUsers,
    /// Read the audit trail.
    ReadAudit,
}

impl Capability {
    pub const ALL: &'static [Capability] = &[
        Capability::ReadRegistry,
        Capability::EditRegistry,
        Capability::RevealPersonal,
        Capability::Export,
        Capability::ManageUsers,
        Capability::ReadAudit,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Capability::ReadRegistry => "查看名册（脱敏）",
            Capability::EditRegistry => "维护名册",
            Capability::RevealPersonal => "查看完整证件号/电话",
            Capability::Export => "导出",
            Capability::ManageUsers => "管理账号",
            Capability::ReadAudit => "查阅审计日志",
        }
    }
}

impl Role {
    /// The one role × capability table. Separation of duties: the system
    /// administrator cannot read (or change) the audit trail, the auditor can
    /// read it and change nothing; members and residents see only their own
    /// pages, not the registry.
    pub fn can(self, cap: Capability) -> bool {
        use Capability::*;
        match self {
            Role::Admin => matches!(cap, ReadRegistry | EditRegistry | RevealPersonal | Export | ManageUsers),
            Role::Auditor => matches!(cap, ReadAudit | ReadRegistry),
            Role::OrgAdmin => matches!(cap, ReadRegistry | EditRegistry | RevealPersonal | Export | ManageUsers),
            Role::Secretary => matches!(cap, ReadRegistry | EditRegistry | RevealPersonal | Export),
            Role::GridWorker => matches!(cap, ReadRegistry | EditRegistry | RevealPersonal),
            Role::Cadre => matches!(cap, ReadRegistry | RevealPersonal),
            Role::Member | Role::Resident => false,
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
