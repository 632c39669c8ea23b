//! Uploaded files (photos and scans as evidence). They live in the database —
//! outside any web root, shared by every server process — and are read only
//! through [`download`], which checks the caller's scope and audits the access.
//! There are no public or reusable links.

use crate::audit::{self, Actor};
use crate::db::Db;
use crate::error::StoreError;
use crate::scope::{Capability, Principal};
use crate::{args, registry};
use chrono::{DateTime, Utc};
use redcell_domain::{FieldError, HouseholdId, ResidentId};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Largest accepted upload.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// What a file is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Household(HouseholdId),
    Resident(ResidentId),
}

impl Owner {
    fn kind(self) -> &'static str {
        match self {
            Owner::Household(_) => "household",
            Owner::Resident(_) => "resident",
        }
    }
    fn id(self) -> i64 {
        match self {
            Owner::Household(i) => i.get(),
            Owner::Resident(i) => i.get(),
        }
    }
    /// The organisation owning the row (read scope is checked by the lookup).
    async fn org(self, db: &Db, p: &Principal) -> Result<(i64, i64), StoreError> {
        Ok(match self {
            Owner::Household(id) => {
                let h = registry::households::get(db, p, id).await?;
                (h.tenant_id, h.org_id.get())
            }
            Owner::Resident(id) => {
                let r = registry::residents::get(db, p, id).await?;
                (r.tenant_id, r.org_id.get())
            }
        })
    }
}

/// The content type implied by the first bytes; anything else is refused.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        [b'%', b'P', b'D', b'F', b'-', ..] => Some("application/pdf"),
        _ => None,
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FileInfo {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

/// Attach a file. The caller must be able to edit the owner's organisation.
pub async fn upload(db: &Db, p: &Principal, owner: Owner, name: &str, bytes: &[u8]) -> Result<i64, StoreError> {
    let (tenant_id, org_id) = owner.org(db, p).await?;
    if !crate::registry::orgs::get(db, p, redcell_domain::OrgId::new(org_id))
        .await
        .is_ok_and(|o| p.scope(Capability::EditRegistry).contains(&o.org_path()))
    {
        return Err(StoreError::Forbidden);
    }
    if bytes.is_empty() {
        return Err(FieldError::new("file", "empty", "文件为空").into());
    }
    if bytes.len() > MAX_BYTES {
        return Err(
            FieldError::new("file", "too_large", format!("文件过大（最大{}MB）", MAX_BYTES / 1024 / 1024)).into()
        );
    }
    let Some(content_type) = sniff(bytes) else {
        return Err(FieldError::new("file", "type", "只接受 PNG、JPEG、GIF、WebP 图片或 PDF 文件").into());
    };
    let mut tx = db.begin().await?;
    let rec = FileRecord {
        tenant_id,
        org_id,
        owner_kind: owner.kind(),
        owner_id: owner.id(),
        name: file_name(name, "file"),
        content_type,
        bytes,
        by: Some(p.user_id),
    };
    let id = insert(&mut tx, &rec).await?;
    let name = rec.name;
    audit::record(
        &mut tx,
        tenant_id,
        Some(p.user_id),
        "upload",
        "file",
        Some(id),
        &format!("{} {}#{}", name, owner.kind(), owner.id()),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The name a file is kept under: the last path segment of what the
/// browser sent, without control characters, at most 100 characters.
pub(crate) fn file_name(name: &str, fallback: &str) -> String {
    let name: String =
        name.rsplit(['/', '\\']).next().unwrap_or("").chars().filter(|c| !c.is_control()).take(100).collect();
    if name.trim().is_empty() { fallback.to_string() } else { name }
}

/// A stored file as written: the one writer of `files` (household files,
/// request and wish photos, meeting photos).
pub(crate) struct FileRecord<'a> {
    pub tenant_id: i64,
    pub org_id: i64,
    /// `household`, `resident`, `request`, `wish`, `meeting`.
    pub owner_kind: &'a str,
    pub owner_id: i64,
    /// Already cleaned by [`file_name`].
    pub name: String,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
    pub by: Option<i64>,
}

/// Insert a file; answers its id.
pub(crate) async fn insert(tx: &mut crate::db::Tx, f: &FileRecord<'_>) -> Result<i64, StoreError> {
    tx.int(
        "INSERT INTO files (tenant_id, org_id, owner_kind, owner_id, name, content_type, size, sha256, data, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        crate::db::Args(vec![
            f.tenant_id.into(),
            f.org_id.into(),
            f.owner_kind.into(),
            f.owner_id.into(),
            f.name.clone().into(),
            f.content_type.into(),
            (f.bytes.len() as i64).into(),
            hex::encode(Sha256::digest(f.bytes)).into(),
            crate::db::Arg::Bytes(f.bytes.to_vec()),
            f.by.into(),
            Utc::now().into(),
        ]),
    )
    .await
}

/// The files attached to something the caller can read.
pub async fn list(db: &Db, p: &Principal, owner: Owner) -> Result<Vec<FileInfo>, StoreError> {
    let (tenant_id, _) = owner.org(db, p).await?;
    db.all(
        "SELECT id, name, content_type, size, created_at FROM files WHERE tenant_id = $1 AND owner_kind = $2 AND owner_id = $3 ORDER BY id",
        args![tenant_id, owner.kind(), owner.id()],
    )
    .await
}

/// A file's bytes, for a caller whose read scope covers its organisation. Audited.
pub async fn download(db: &Db, p: &Principal, id: i64) -> Result<(FileInfo, Vec<u8>), StoreError> {
    let mut a = args![id];
    let c = p.scope(Capability::ReadRegistry).rows("f", &mut a);
    let info: FileInfo = db
        .one(
            &format!("SELECT f.id, f.name, f.content_type, f.size, f.created_at FROM files f WHERE f.id = $1 AND {c}"),
            a,
        )
        .await?;
    let (data,): (Vec<u8>,) = db.one("SELECT data FROM files WHERE id = $1", args![id]).await?;
    audit::access(db, p.tenant_id, Actor::of(p), "download", "file", Some(id), &info.name).await?;
    Ok((info, data))
}
