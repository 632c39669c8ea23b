//! The one scope filter. Every query that reads or writes registry rows goes
//! through [`Scope`]: a caller sees the subtrees of the organisations on which
//! they hold a suitable role, within their tenant, and nothing else.

use crate::db::Args;
use redcell_domain::{OrgPath, Role};
use serde::Serialize;

/// A role held on an organisation.
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    pub org_id: i64,
    pub org_name: String,
    pub path: OrgPath,
    pub role: Role,
}

/// The authenticated caller.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub tenant_id: i64,
    pub username: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
}

pub use redcell_domain::Capability;

impl Principal {
    /// The scope in which this caller has `cap`.
    pub fn scope(&self, cap: Capability) -> Scope {
        let mut paths: Vec<OrgPath> = self.grants.iter().filter(|g| g.role.can(cap)).map(|g| g.path.clone()).collect();
        paths.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        // Drop paths already covered by a shorter one.
        let mut kept: Vec<OrgPath> = Vec::new();
        for p in paths {
            if !kept.iter().any(|k| k.contains(&p)) {
                kept.push(p);
            }
        }
        Scope { tenant_id: self.tenant_id, paths: kept }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// The highest organisations this caller can read: where their pages start.
    pub fn home_orgs(&self) -> Vec<i64> {
        self.scope(Capability::ReadRegistry).paths.iter().map(OrgPath::id).collect()
    }
}

/// A set of disjoint organisation subtrees inside one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub tenant_id: i64,
    pub paths: Vec<OrgPath>,
}

impl Scope {
    /// Everything in a tenant (used by the CLI, which runs as the operator).
    pub fn whole_tenant(tenant_id: i64) -> Scope {
        Scope { tenant_id, paths: vec![OrgPath::root(tenant_id)] }
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn contains(&self, path: &OrgPath) -> bool {
        self.paths.iter().any(|p| p.contains(path))
    }

    fn path_clause(&self, col: &str, args: &mut Args) -> String {
        if self.paths.is_empty() {
            return "1 = 0".into();
        }
        let parts: Vec<String> =
            self.paths.iter().map(|p| format!("{col} LIKE {}", args.push(p.like_pattern()))).collect();
        format!("({})", parts.join(" OR "))
    }

    /// SQL condition: the row `alias` (which has `tenant_id` and `org_id`)
    /// belongs to an organisation inside this scope.
    pub fn rows(&self, alias: &str, args: &mut Args) -> String {
        let t = args.push(self.tenant_id);
        let paths = self.path_clause("so.path", args);
        format!(
            "({alias}.tenant_id = {t} AND {alias}.org_id IN (SELECT so.id FROM orgs so WHERE so.tenant_id = {t} AND {paths}))"
        )
    }

    /// The same condition as [`Scope::orgs`] written with literals, for a
    /// sub-select whose statement cannot take more parameters. Safe: a tenant
    /// id is an integer and an [`OrgPath`] holds only digits and slashes.
    pub fn orgs_literal(&self, alias: &str) -> String {
        if self.paths.is_empty() {
            return "1 = 0".into();
        }
        let parts: Vec<String> = self
            .paths
            .iter()
            .filter(|p| p.as_str().bytes().all(|b| b.is_ascii_digit() || b == b'/'))
            .map(|p| format!("{alias}.path LIKE '{}'", p.like_pattern()))
            .collect();
        if parts.is_empty() {
            return "1 = 0".into();
        }
        format!("({alias}.tenant_id = {} AND ({}))", self.tenant_id, parts.join(" OR "))
    }

    /// SQL condition on the `orgs` table itself.
    pub fn orgs(&self, alias: &str, args: &mut Args) -> String {
        let t = args.push(self.tenant_id);
        let paths = self.path_clause(&format!("{alias}.path"), args);
        format!("({alias}.tenant_id = {t} AND {paths})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(grants: Vec<(&str, Role)>) -> Principal {
        Principal {
            user_id: 1,
            tenant_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            grants: grants
                .into_iter()
                .map(|(p, role)| {
                    let path = OrgPath::parse(p).unwrap();
                    Grant { org_id: path.id(), org_name: String::new(), path, role }
                })
                .collect(),
        }
    }

    #[test]
    fn nested_grants_collapse_and_roles_filter() {
        let p = principal(vec![("/1/2/", Role::OrgAdmin), ("/1/2/5/", Role::Secretary), ("/1/3/", Role::Auditor)]);
        let read = p.scope(Capability::ReadRegistry);
        assert_eq!(read.paths.len(), 2);
        let edit = p.scope(Capability::EditRegistry);
        assert_eq!(edit.paths, vec![OrgPath::parse("/1/2/").unwrap()]);
        assert!(p.scope(Capability::ManageUsers).contains(&OrgPath::parse("/1/2/9/").unwrap()));
        assert!(!edit.contains(&OrgPath::parse("/1/3/").unwrap()));
    }

    #[test]
    fn empty_scope_matches_nothing() {
        let p = principal(vec![("/1/", Role::Resident)]);
        let s = p.scope(Capability::ReadRegistry);
        let mut a = Args::new();
        assert!(s.rows("h", &mut a).contains("1 = 0"));
    }
}
