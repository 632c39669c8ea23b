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

impl Role {
    /// May this role change registry data inside its scope?
    pub fn may_edit_registry(self) -> bool {
        matches!(self, Role::Admin | Role::OrgAdmin | Role::Secretary | Role::GridWorker)
    }
    /// May this role read the registry (with masking) inside its scope?
    pub fn may_read_registry(self) -> bool {
        !matches!(self, Role::Resident)
    }
    /// May this role manage accounts inside its scope?
    pub fn may_manage_users(self) -> bool {
        matches!(self, Role::Admin | Role::OrgAdmin)
    }
}

/// Password policy: at least 10 characters with a letter and a digit.
pub fn password_acceptable(pw: &str) -> bool {
    pw.chars().count() >= 10
        && pw.chars().any(|c| c.is_alphabetic())
        && pw.chars().any(|c| c.is_ascii_digit())
}

/// Usernames: 3–32 of ASCII letters, digits, `.`, `-`, `_`.
pub fn username_acceptable(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
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
        assert!(Role::Admin.may_edit_registry());
        assert!(!Role::Auditor.may_edit_registry());
    }
}
